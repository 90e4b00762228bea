//! The properties of invitations and responses, read for many rows at once: (row id, name,
//! value).
use super::schema::invitation_properties;
use super::{DbConn, StoreResult};
use diesel::prelude::*;

/// The properties of transactions: (invitation id, name, value).
pub fn properties_of_invitations(
    conn: &mut DbConn,
    ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    Ok(invitation_properties::table
        .filter(invitation_properties::invitation_id.eq_any(ids))
        .select((
            invitation_properties::invitation_id,
            invitation_properties::name,
            invitation_properties::value,
        ))
        .load(conn)?)
}

/// The properties of web answers: (response id, name, value).
pub fn properties_of_responses(
    conn: &mut DbConn,
    ids: &[String],
) -> StoreResult<Vec<(String, String, String)>> {
    use super::schema::response_properties;
    Ok(response_properties::table
        .filter(response_properties::response_id.eq_any(ids))
        .select((
            response_properties::response_id,
            response_properties::name,
            response_properties::value,
        ))
        .load(conn)?)
}
