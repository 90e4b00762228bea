//! Property segments in SQL: whether a response (or an invitation) has the properties of a
//! filter, as one condition whose cost grows linearly with the filter.
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};
use diesel::QueryResult;
use npsd_domain::insight::PropertyFilter;

/// Whether a row has the properties of a filter: one of the values of each name. Two conditions
/// whatever the number of names: an EXISTS for the first name, and for the others one correlated
/// count of the names they match. For responses:
///
/// ```sql
/// (EXISTS (SELECT 1 FROM response_properties seg WHERE seg.response_id = responses.id
///          AND (seg.name = 'country' AND seg.value IN ('DE', 'AT')))
///  AND (SELECT COUNT(*) FROM response_properties seg WHERE seg.response_id = responses.id
///       AND ((seg.name = 'plan' AND seg.value IN ('pro', 'team')) OR (seg.name = ...))) = 2)
/// ```
///
/// (a row holds one value per name, the table's key, so the count is the number of names
/// matched). One EXISTS per name, as before, made PostgreSQL's planner weigh the orders of as
/// many semi-joins: 10 names planned for about 65 ms, 100 for 2 to 3 s, 1,500 for minutes; this
/// plans in a few milliseconds at any size. The one EXISTS leaves PostgreSQL its choice between
/// reading the segment from the `(name, value)` index and checking the rows in range; on SQLite
/// all is correlated, so the cost follows the rows in range (a trend's many short periods stay
/// cheap), not the segment's size over all time.
#[derive(Debug, Clone)]
pub struct HasProperties<'a> {
    filter: &'a PropertyFilter,
    /// The properties' table, its column naming the row, and the row's id in the outer query.
    table: &'static str,
    key: &'static str,
    id: &'static str,
}

impl HasProperties<'_> {
    /// The condition on `responses` for `f`; None when it filters by no property.
    pub fn response(f: &PropertyFilter) -> Option<HasProperties<'_>> {
        (!f.is_empty()).then_some(HasProperties {
            filter: f,
            table: "response_properties",
            key: "response_id",
            id: "responses.id",
        })
    }

    /// The condition on `invitations` for `f` (a segment's invitations, for its response rate);
    /// None when it filters by no property.
    pub fn invitation(f: &PropertyFilter) -> Option<HasProperties<'_>> {
        (!f.is_empty()).then_some(HasProperties {
            filter: f,
            table: "invitation_properties",
            key: "invitation_id",
            id: "invitations.id",
        })
    }
}

impl diesel::expression::Expression for HasProperties<'_> {
    type SqlType = Bool;
}

impl<QS> diesel::expression::AppearsOnTable<QS> for HasProperties<'_> {}

impl<QS> diesel::expression::SelectableExpression<QS> for HasProperties<'_> {}

impl<GB> diesel::expression::ValidGrouping<GB> for HasProperties<'_> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryId for HasProperties<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for HasProperties<'_>
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Its text varies with the filter's shape: not worth a place in the statement cache.
        out.unsafe_to_cache_prepared();
        let mut names = self.filter.iter();
        let Some(first) = names.next() else {
            return Ok(());
        };
        // ` FROM response_properties seg WHERE seg.response_id = responses.id AND `
        let from = format!(
            " FROM {} seg WHERE seg.{} = {} AND ",
            self.table, self.key, self.id
        );
        out.push_sql("(EXISTS (SELECT 1");
        out.push_sql(&from);
        name_and_values(&mut out, first)?;
        out.push_sql(")");
        if self.filter.len() > 1 {
            out.push_sql(" AND (SELECT COUNT(*)");
            out.push_sql(&from);
            out.push_sql("(");
            for (i, name) in names.enumerate() {
                if i > 0 {
                    out.push_sql(" OR ");
                }
                name_and_values(&mut out, name)?;
            }
            out.push_sql(")) = ");
            out.push_sql(&(self.filter.len() - 1).to_string());
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `(seg.name = $1 AND seg.value IN ($2, $3))`
fn name_and_values<'b, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    (name, values): (&'b String, &'b Vec<String>),
) -> QueryResult<()>
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    out.push_sql("(seg.name = ");
    out.push_bind_param::<Text, String>(name)?;
    out.push_sql(" AND seg.value IN (");
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push_sql(", ");
        }
        out.push_bind_param::<Text, String>(value)?;
    }
    out.push_sql("))");
    Ok(())
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::schema::responses;
    use diesel::prelude::*;

    fn sql(pairs: &[(&str, &str)]) -> String {
        let f = PropertyFilter::from_pairs(pairs.iter().copied()).unwrap();
        let has = HasProperties::response(&f).unwrap();
        let q = responses::table.filter(has).select(responses::id);
        diesel::debug_query::<diesel::sqlite::Sqlite, _>(&q).to_string()
    }

    #[test]
    fn one_exists_and_one_count_whatever_the_names() {
        let one = sql(&[("property.plan", "pro"), ("property.plan", "team")]);
        assert!(one.contains(
            "(EXISTS (SELECT 1 FROM response_properties seg WHERE seg.response_id = responses.id \
             AND (seg.name = ? AND seg.value IN (?, ?))))"
        ));
        assert!(!one.contains("COUNT"), "{one}");
        let pairs: Vec<(String, String)> = (0..10)
            .map(|i| (format!("property.p{i}"), "x".to_string()))
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let ten = sql(&pairs);
        assert_eq!(ten.matches("EXISTS").count(), 1, "{ten}");
        assert_eq!(ten.matches("SELECT COUNT(*)").count(), 1, "{ten}");
        assert_eq!(ten.matches(" OR ").count(), 8, "{ten}");
        assert!(ten.contains(")) = 9)"), "{ten}");
        assert!(HasProperties::response(&PropertyFilter::default()).is_none());
    }
}
