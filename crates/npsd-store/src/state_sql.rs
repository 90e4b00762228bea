//! The domain's state enums as TEXT columns on every backend: written as their names, read back
//! through `FromStr` (an unknown name is a deserialisation error, not a silent default).
use super::DbConn;
use crate::ids::{InvitationId, ResponseId, SurveyId};
use crate::state::{
    Channel, DigestStatus, InvitationStatus, JobKind, OutboxStatus, ResponseStatus, SkipReason,
    SuppressionReason,
};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

type Db = <DbConn as diesel::Connection>::Backend;

/// TEXT on one backend: the connection enum's own and each backend inside it.
macro_rules! text_on {
    ($db:ty; $($ty:ty),+) => {$(
        impl ToSql<Text, $db> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, $db>) -> serialize::Result {
                <str as ToSql<Text, $db>>::to_sql(self.as_str(), out)
            }
        }

        impl ToSql<Nullable<Text>, $db> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, $db>) -> serialize::Result {
                <Self as ToSql<Text, $db>>::to_sql(self, out)
            }
        }

        impl FromSql<Text, $db> for $ty {
            fn from_sql(bytes: <$db as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, $db>>::from_sql(bytes)?;
                Ok(text.parse::<$ty>()?)
            }
        }
    )+};
}

macro_rules! text_column {
    ($($ty:ty),+) => {
        text_on!(Db; $($ty),+);
        #[cfg(feature = "postgres")]
        text_on!(diesel::pg::Pg; $($ty),+);
        #[cfg(feature = "sqlite")]
        text_on!(diesel::sqlite::Sqlite; $($ty),+);
        $(

        impl Queryable<Text, Db> for $ty {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $ty {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<Text>> for $ty {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Text> for &'a $ty {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $ty {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        )+
    };
}

text_column!(
    OutboxStatus,
    JobKind,
    InvitationStatus,
    ResponseStatus,
    Channel,
    DigestStatus,
    SkipReason,
    SuppressionReason,
    SurveyId,
    InvitationId,
    ResponseId
);
