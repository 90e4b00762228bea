//! People: one row per address with a stable id, made when a transaction, an answer or an
//! import first names the address (Delighted's API names people by id). And everything held
//! about one address, to export it (GDPR Art. 15); erasing it (Art. 17) is [`super::erasure`].
use super::rows::InvitationRow;
use super::rows::ResponseRow;
use super::schema::{invitations, link_events, people, responses, surveys, unsubscribes};
use super::suppressions::{self, SuppressionRow};
use super::{is_unique_violation, new_id, DbConn, StoreResult};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use npsd_domain::email::EmailAddress;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = people)]
#[diesel(treat_none_as_default_value = false)]
pub struct PersonRow {
    pub id: String,
    pub email_key: String,
    pub email: String,
    pub name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl PersonRow {
    /// A new person: a fresh UUIDv7 id (people list in the order they were made).
    fn new(email: &EmailAddress, name: Option<&str>, now: NaiveDateTime) -> PersonRow {
        PersonRow {
            id: new_id(),
            email_key: email.key(),
            email: email.as_str().to_string(),
            name: name.map(str::to_string),
            created_at: now,
            updated_at: now,
        }
    }
}

/// What a name given for a known person does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// A name given now replaces the one held (the shop says so).
    Replace,
    /// Only fills in a missing name (an old export must not overwrite today's).
    FillIn,
}

/// The person with this address, made when new.
pub fn ensure(
    conn: &mut DbConn,
    email: &EmailAddress,
    name: Option<&str>,
    rule: NameRule,
    now: NaiveDateTime,
) -> StoreResult<PersonRow> {
    let key = email.key();
    if let Some(mut found) = find_by_key(conn, &key)? {
        let change = match rule {
            NameRule::Replace => name.is_some() && found.name.as_deref() != name,
            NameRule::FillIn => name.is_some() && found.name.is_none(),
        };
        if change {
            found.name = name.map(str::to_string);
            found.updated_at = now;
            diesel::update(people::table.find(&found.id))
                .set((people::name.eq(&found.name), people::updated_at.eq(now)))
                .execute(conn)?;
        }
        return Ok(found);
    }
    let row = PersonRow::new(email, name, now);
    // A savepoint: a concurrent request may have made the same person first.
    let inserted = conn.transaction(|c| diesel::insert_into(people::table).values(&row).execute(c));
    match inserted {
        Ok(_) => Ok(row),
        Err(e) if is_unique_violation(&e) => {
            Ok(find_by_key(conn, &key)?.ok_or(diesel::result::Error::NotFound)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes the person of a transaction's address when new, and gives a known one the name the
/// transaction brings: without reading, in one statement for a new address (ingest's hot path:
/// no lookup, no savepoint; a concurrent insert of the same address is simply not repeated).
pub fn note(
    conn: &mut DbConn,
    email: &EmailAddress,
    name: Option<&str>,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let row = PersonRow::new(email, name, now);
    let key = row.email_key.clone();
    // The same statement on both backends; each needs its own connection type for ON CONFLICT.
    let inserted = match conn {
        #[cfg(feature = "sqlite")]
        DbConn::Sqlite(c) => diesel::insert_into(people::table)
            .values(&row)
            .on_conflict(people::email_key)
            .do_nothing()
            .execute(c)?,
        #[cfg(feature = "postgres")]
        DbConn::Postgresql(c) => diesel::insert_into(people::table)
            .values(&row)
            .on_conflict(people::email_key)
            .do_nothing()
            .execute(c)?,
    };
    if let (0, Some(name)) = (inserted, name) {
        rename(conn, &key, name, now)?;
    }
    Ok(())
}

/// Gives the person of this address a new name (nothing changes when it is the same).
pub fn rename(
    conn: &mut DbConn,
    email_key: &str,
    name: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        people::table
            .filter(people::email_key.eq(email_key))
            .filter(people::name.is_null().or(people::name.ne(name))),
    )
    .set((people::name.eq(name), people::updated_at.eq(now)))
    .execute(conn)?;
    Ok(())
}

pub fn find_by_key(conn: &mut DbConn, email_key: &str) -> StoreResult<Option<PersonRow>> {
    Ok(people::table
        .filter(people::email_key.eq(email_key))
        .select(PersonRow::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConn, id: &str) -> StoreResult<Option<PersonRow>> {
    Ok(people::table
        .find(id)
        .select(PersonRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// The people with these addresses (lower-cased keys).
pub fn by_keys(conn: &mut DbConn, keys: &[String]) -> StoreResult<Vec<PersonRow>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            people::table
                .filter(people::email_key.eq_any(chunk))
                .select(PersonRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Which people a list shows, oldest first (by id: UUIDv7, made in order).
#[derive(Debug, Clone, Default)]
pub struct PeopleQuery {
    pub since: Option<NaiveDateTime>,
    /// Before this instant.
    pub until: Option<NaiveDateTime>,
    pub email_key: Option<String>,
    /// Only people after this id.
    pub after: Option<String>,
    pub limit: i64,
}

pub fn list(conn: &mut DbConn, q: &PeopleQuery) -> StoreResult<Vec<PersonRow>> {
    let mut query = people::table.into_boxed();
    if let Some(since) = q.since {
        query = query.filter(people::created_at.ge(since));
    }
    if let Some(until) = q.until {
        query = query.filter(people::created_at.lt(until));
    }
    if let Some(key) = &q.email_key {
        query = query.filter(people::email_key.eq(key.clone()));
    }
    if let Some(id) = &q.after {
        query = query.filter(people::id.gt(id.clone()));
    }
    Ok(query
        .order(people::id.asc())
        .limit(q.limit)
        .select(PersonRow::as_select())
        .load(conn)?)
}

pub struct PersonData {
    /// The person record (id and name) that APIs naming people by id use.
    pub person: Option<PersonRow>,
    /// With the survey's slug.
    pub invitations: Vec<(InvitationRow, String)>,
    /// (invitation id, name, value)
    pub properties: Vec<(String, String, String)>,
    /// With the survey's slug.
    pub responses: Vec<(ResponseRow, String)>,
    /// Of web answers: (response id, name, value)
    pub response_properties: Vec<(String, String, String)>,
    /// (survey slug, source, when)
    pub unsubscribes: Vec<(String, String, NaiveDateTime)>,
    pub suppression: Option<SuppressionRow>,
    /// Slugs of the surveys whose digest the address gets.
    pub digest_lists: Vec<String>,
    /// Clicks on the links of its emails: (invitation id, kind, score, when).
    pub link_events: Vec<(String, String, Option<i32>, NaiveDateTime)>,
    /// Digests sent or to be sent to the address.
    pub digest_deliveries: Vec<super::digests::Delivery>,
}

impl PersonData {
    pub fn is_empty(&self) -> bool {
        self.person.is_none()
            && self.invitations.is_empty()
            && self.responses.is_empty()
            && self.unsubscribes.is_empty()
            && self.suppression.is_none()
            && self.digest_lists.is_empty()
            && self.digest_deliveries.is_empty()
    }
}

pub fn export(conn: &mut DbConn, email_key: &str) -> StoreResult<PersonData> {
    let invitations: Vec<(InvitationRow, String)> = invitations::table
        .inner_join(surveys::table)
        .filter(invitations::email_key.eq(email_key))
        .order(invitations::created_at.asc())
        .select((InvitationRow::as_select(), surveys::slug))
        .load(conn)?;
    let ids: Vec<String> = invitations.iter().map(|(i, _)| i.id.to_string()).collect();
    let properties = super::properties::properties_of_invitations(conn, &ids)?;
    // Email answers through the invitations, web answers by the address the page gave.
    let responses: Vec<(ResponseRow, String)> = responses::table
        .inner_join(surveys::table)
        .filter(
            responses::invitation_id
                .eq_any(&ids)
                .or(responses::email_key.eq(email_key)),
        )
        .order(responses::responded_at.asc())
        .select((ResponseRow::as_select(), surveys::slug))
        .load(conn)?;
    let web_ids: Vec<String> = responses
        .iter()
        .filter(|(r, _)| r.invitation_id.is_none())
        .map(|(r, _)| r.id.to_string())
        .collect();
    let response_properties = super::properties::properties_of_responses(conn, &web_ids)?;
    let mut link_events = Vec::new();
    for chunk in ids.chunks(500) {
        link_events.extend(
            link_events::table
                .filter(link_events::invitation_id.eq_any(chunk))
                .select((
                    link_events::invitation_id,
                    link_events::kind,
                    link_events::score,
                    link_events::created_at,
                ))
                .load::<(String, String, Option<i32>, NaiveDateTime)>(conn)?,
        );
    }
    link_events.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
    let unsubscribes: Vec<(String, String, NaiveDateTime)> = unsubscribes::table
        .inner_join(surveys::table)
        .filter(unsubscribes::email_key.eq(email_key))
        .select((
            surveys::slug,
            unsubscribes::source,
            unsubscribes::created_at,
        ))
        .load(conn)?;
    Ok(PersonData {
        person: find_by_key(conn, email_key)?,
        invitations,
        properties,
        responses,
        response_properties,
        unsubscribes,
        suppression: suppressions::find(conn, email_key)?,
        digest_lists: super::surveys::list(conn)?
            .into_iter()
            .filter(|s| super::digests::still_recipient(s, email_key))
            .map(|s| s.slug)
            .collect(),
        link_events,
        digest_deliveries: super::digests::deliveries_to(conn, email_key)?,
    })
}
