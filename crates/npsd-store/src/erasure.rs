//! Erasure of everything held about one address (GDPR Art. 17): its invitations and all that
//! hangs off them, its answers, unsubscribes and digest deliveries, the tally rows only it made,
//! and its person record; a suppression stays in force, by keyed hash. Then SQLite's write-ahead
//! log is emptied, so that no earlier version of a page keeps what was erased.
use super::schema::{
    invitation_properties, invitation_tokens, invitations, link_events, outbox, people,
    response_properties, responses, unsubscribes,
};
use super::suppressions;
use super::{DbConn, StoreResult};
use diesel::prelude::*;

fn invitation_ids(conn: &mut DbConn, email_key: &str) -> StoreResult<Vec<String>> {
    Ok(invitations::table
        .filter(invitations::email_key.eq(email_key))
        .select(invitations::id)
        .load(conn)?)
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub invitations: usize,
    pub responses: usize,
    pub unsubscribes: usize,
    /// Survey digest lists the address was taken off.
    pub digest_lists: usize,
    /// Digest deliveries to the address forgotten.
    pub digest_deliveries: usize,
    /// The address stays suppressed (as a hash only).
    pub suppressed: bool,
}

/// On PostgreSQL, takes the row locks a dispatcher's claim and a link click take, in the same
/// order (outbox rows, then invitations, by id), so erasing never deadlocks with them.
fn lock_in_claim_order(conn: &mut DbConn, ids: &[String]) -> StoreResult<()> {
    match conn {
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => {
            for chunk in ids.chunks(500) {
                outbox::table
                    .filter(outbox::invitation_id.eq_any(chunk))
                    .order(outbox::id.asc())
                    .select(outbox::id)
                    .for_update()
                    .load::<String>(c)?;
                invitations::table
                    .filter(invitations::id.eq_any(chunk))
                    .order(invitations::id.asc())
                    .select(invitations::id)
                    .for_update()
                    .load::<String>(c)?;
            }
        }
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(_) => {}
    }
    let _ = ids;
    Ok(())
}

/// The (survey id, name, value)s of the properties on these answers: what the tallies hold of them.
fn tallied_values(
    conn: &mut DbConn,
    invitation_ids: &[String],
    email_key: &str,
) -> StoreResult<Vec<(String, String, String)>> {
    let mut out: Vec<(String, String, String)> = responses::table
        .inner_join(response_properties::table)
        .filter(responses::email_key.eq(email_key))
        .select((
            responses::survey_id,
            response_properties::name,
            response_properties::value,
        ))
        .load(conn)?;
    for chunk in invitation_ids.chunks(500) {
        out.extend(
            responses::table
                .inner_join(response_properties::table)
                .filter(responses::invitation_id.eq_any(chunk))
                .select((
                    responses::survey_id,
                    response_properties::name,
                    response_properties::value,
                ))
                .load::<(String, String, String)>(conn)?,
        );
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Deletes the address's invitations with their properties, tokens, outbox rows, link events and
/// responses (comments included; SQLite's search index drops their words at once), its
/// unsubscribes, its digest deliveries, and the tally rows of property values only it gave. A
/// suppression stays in force, by keyed hash. Call inside a write transaction.
pub fn erase(
    conn: &mut DbConn,
    email_key: &str,
    now: chrono::NaiveDateTime,
) -> StoreResult<Erased> {
    let ids = invitation_ids(conn, email_key)?;
    lock_in_claim_order(conn, &ids)?;
    let values = tallied_values(conn, &ids, email_key)?;
    let mut erased = Erased::default();
    let person_id: Option<String> = people::table
        .filter(people::email_key.eq(email_key))
        .select(people::id)
        .first(conn)
        .optional()?;
    let mut response_ids: Vec<String> = Vec::new();
    for chunk in ids.chunks(500) {
        response_ids.extend(
            responses::table
                .filter(responses::invitation_id.eq_any(chunk))
                .select(responses::id)
                .load::<String>(conn)?,
        );
        diesel::delete(link_events::table.filter(link_events::invitation_id.eq_any(chunk)))
            .execute(conn)?;
        erased.responses +=
            diesel::delete(responses::table.filter(responses::invitation_id.eq_any(chunk)))
                .execute(conn)?;
        diesel::delete(
            invitation_tokens::table.filter(invitation_tokens::invitation_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(
            invitation_properties::table.filter(invitation_properties::invitation_id.eq_any(chunk)),
        )
        .execute(conn)?;
        diesel::delete(outbox::table.filter(outbox::invitation_id.eq_any(chunk))).execute(conn)?;
        erased.invitations +=
            diesel::delete(invitations::table.filter(invitations::id.eq_any(chunk)))
                .execute(conn)?;
    }
    // Web answers that gave the address (their properties go with them, ON DELETE CASCADE
    // aside, explicitly, for SQLite files opened without foreign keys).
    let web: Vec<String> = responses::table
        .filter(responses::email_key.eq(email_key))
        .select(responses::id)
        .load(conn)?;
    response_ids.extend(web.iter().cloned());
    for chunk in web.chunks(500) {
        diesel::delete(
            response_properties::table.filter(response_properties::response_id.eq_any(chunk)),
        )
        .execute(conn)?;
        erased.responses +=
            diesel::delete(responses::table.filter(responses::id.eq_any(chunk))).execute(conn)?;
    }
    erased.unsubscribes =
        diesel::delete(unsubscribes::table.filter(unsubscribes::email_key.eq(email_key)))
            .execute(conn)?;
    // The journal holds the erased answers' values and their removal: folded in first, so that
    // the zero rows can go and no journal row keeps a value.
    super::journal::fold_all(conn, true)?;
    super::tallies::drop_uncounted(conn, &values)?;
    (erased.digest_lists, erased.digest_deliveries) =
        super::digests::forget_address(conn, email_key)?;
    diesel::delete(people::table.filter(people::email_key.eq(email_key))).execute(conn)?;
    erased.suppressed = suppressions::keep_hash_only(conn, email_key)?;
    // The events about the person go. One event says they were erased, without the address (no
    // copy of it stays behind): with the ids a subscribed system got in earlier events (the
    // person's, their answers', their invitations'), so that it can erase its copies too.
    let mut subjects: Vec<String> = response_ids.clone();
    subjects.extend(ids.iter().cloned());
    subjects.push(email_key.to_string());
    super::events::forget_subjects(conn, &subjects)?;
    let data = serde_json::json!({
        "person_id": person_id,
        "responses": response_ids,
        "invitations": ids,
    })
    .to_string();
    super::events::append(conn, "person.erased", None, &data, now)?;
    Ok(erased)
}

/// Erases the address ([`erase`], one write), then empties SQLite's write-ahead log, which still
/// holds the pages as they were before ([`super::backup::empty_wal`]). What the APIs call.
pub async fn erase_now(
    store: &super::Store,
    email_key: String,
    now: chrono::NaiveDateTime,
) -> StoreResult<Erased> {
    let erased = store.write(move |c| erase(c, &email_key, now)).await?;
    match store.read(super::backup::empty_wal).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "erased data stays in the SQLite write-ahead log until its next checkpoint (busy)"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot empty the SQLite write-ahead log"),
    }
    Ok(erased)
}
