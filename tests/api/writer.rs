//! The group-commit writer (`store::writer`): writes that wait together share a transaction,
//! yet each is all or nothing on its own, and every answer comes after its commit.
use crate::backend_tests;
use crate::helpers::{Backend, TestDb};
use npsd::store::state::SuppressionReason;
use npsd::store::{suppressions, DatabaseUrl, Store, StoreError};

fn now() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
}

/// A store on a fresh database (kept alive as long as the returned `TestDb`).
async fn open(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::create(backend);
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let store = tokio::task::spawn_blocking(move || Store::open(&url, 2))
        .await
        .unwrap()
        .expect("store");
    (db, store)
}

async fn a_failing_write_rolls_back_alone_among_many(backend: Backend) {
    let (_db, store) = open(backend).await;
    // 200 writes at once, so they meet in batches; every fifth stores its row and then fails.
    let writes = (0..200).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |c| {
                    let email = format!("w{i}@example.com");
                    suppressions::add(c, &email, &email, SuppressionReason::Manual, now())?;
                    if i % 5 == 0 {
                        return Err(StoreError::Migration(format!("write {i} gives up")));
                    }
                    Ok(i)
                })
                .await
        })
    });
    let results = futures_util::future::join_all(writes).await;
    for (i, r) in results.into_iter().enumerate() {
        match r.unwrap() {
            Ok(n) => assert_eq!(n, i),
            Err(e) => assert_eq!(i % 5, 0, "write {i} failed: {e:?}"),
        }
    }
    // Answered means committed: a fresh read sees exactly the writes that succeeded.
    let stored = store
        .read(|c| {
            (0..200)
                .map(|i| {
                    let email = format!("w{i}@example.com");
                    suppressions::is_suppressed(c, &email)
                })
                .collect::<Result<Vec<bool>, _>>()
        })
        .await
        .unwrap();
    for (i, s) in stored.iter().enumerate() {
        assert_eq!(*s, i % 5 != 0, "write {i}");
    }
}

async fn a_panicking_write_panics_its_caller_and_no_one_else(backend: Backend) {
    let (_db, store) = open(backend).await;
    let writes = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(move |c| {
                    let email = format!("p{i}@example.com");
                    suppressions::add(c, &email, &email, SuppressionReason::Manual, now())?;
                    if i == 7 {
                        panic!("write 7 panics");
                    }
                    Ok(i)
                })
                .await
        })
    });
    let results = futures_util::future::join_all(writes).await;
    for (i, r) in results.into_iter().enumerate() {
        if i == 7 {
            assert!(r.unwrap_err().is_panic(), "the panic reaches its caller");
        } else {
            assert_eq!(r.unwrap().expect("the others are stored"), i);
        }
    }
    let seven = store
        .read(|c| suppressions::is_suppressed(c, "p7@example.com"))
        .await
        .unwrap();
    assert!(!seven, "the panicking write left nothing");
    // The writer goes on after a panic.
    store
        .write(|c| {
            suppressions::add(
                c,
                "after@example.com",
                "after@example.com",
                SuppressionReason::Manual,
                now(),
            )
        })
        .await
        .expect("a write after the panic");
}

backend_tests!(
    a_failing_write_rolls_back_alone_among_many,
    a_panicking_write_panics_its_caller_and_no_one_else
);
