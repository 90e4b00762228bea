//! The field types of a transaction's body (and of the embedded form's properties): the id, the
//! segment properties and the send delay.
use super::string_schema;
use crate::domain::transaction::{PropertyInput, TransactionIdInput};
use crate::domain::WholeInput;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Segment properties: an object of names to strings, numbers or booleans (`null`: none).
#[derive(Debug, Clone, Default)]
pub struct Properties(pub Vec<(String, PropertyInput)>);

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const MESSAGE: &str = "must be an object of names to values";
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Properties;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of names to values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Properties, E> {
                Ok(Properties::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Properties, A::Error> {
                // In name order, as the checks read them.
                let mut entries = std::collections::BTreeMap::new();
                while let Some((key, value)) = a.next_entry::<String, PropertyValue>()? {
                    entries.insert(key, value.0);
                }
                Ok(Properties(entries.into_iter().collect()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Properties, A::Error> {
                Err(de::Error::custom(MESSAGE))
            }
            refuse_others!(MESSAGE; visit_str(&str), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Properties {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
            .additional_properties(Some(PropertyValue::schema()))
            .description(Some("Up to 50 segment properties (plan, country...)."))
            .into()
    }
}
impl ToSchema for Properties {}

/// A property value: stored as text, so a string, a number or a boolean (`null`: left out).
/// Anything else is noted, for the checks to refuse with the property's name.
#[derive(Debug, Clone)]
pub struct PropertyValue(pub PropertyInput);

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PropertyValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_unit<E: de::Error>(self) -> Result<PropertyValue, E> {
                Ok(PropertyValue(PropertyInput::Null))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PropertyValue, E> {
                Ok(PropertyValue(PropertyInput::Text(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<PropertyValue, E> {
                Ok(PropertyValue(PropertyInput::Text(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PropertyValue, E> {
                Ok(PropertyValue(PropertyInput::Text(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PropertyValue, E> {
                Ok(PropertyValue(PropertyInput::Text(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<PropertyValue, E> {
                // As JSON writes it (100.0 stays "100.0").
                Ok(PropertyValue(
                    serde_json::Number::from_f64(v).map_or(PropertyInput::Invalid, |n| {
                        PropertyInput::Text(n.to_string())
                    }),
                ))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<PropertyValue, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(PropertyValue(PropertyInput::Invalid))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<PropertyValue, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(PropertyValue(PropertyInput::Invalid))
            }
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for PropertyValue {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(string_schema())
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .description(Some("A property value; stored as text."))
            .into()
    }
}
impl ToSchema for PropertyValue {}

/// A transaction id: a string, or an integer JSON keeps exact.
#[derive(Debug, Clone)]
pub struct TransactionId(pub TransactionIdInput);

impl Default for TransactionId {
    fn default() -> Self {
        TransactionId(TransactionIdInput::Missing)
    }
}

impl<'de> Deserialize<'de> for TransactionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TransactionId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a whole number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TransactionId, E> {
                Ok(TransactionId(TransactionIdInput::Text(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TransactionId, E> {
                Ok(TransactionId(TransactionIdInput::Integer(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TransactionId, E> {
                Ok(TransactionId(TransactionIdInput::Integer(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<TransactionId, E> {
                Ok(TransactionId(TransactionIdInput::Fractional))
            }
            fn visit_unit<E: de::Error>(self) -> Result<TransactionId, E> {
                Ok(TransactionId(TransactionIdInput::Missing))
            }
            refuse_others!("must be a string"; visit_bool(bool));
            refuse_compound!("must be a string");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for TransactionId {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(string_schema())
            .item(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("A string, or an integer JSON keeps exact."))
            .into()
    }
}
impl ToSchema for TransactionId {}

/// A send delay in seconds: a number (checked to be whole and in range by the domain).
#[derive(Debug, Clone, Copy, Default)]
pub struct Delay(pub Option<WholeInput>);

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Delay;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Delay, E> {
                Ok(Delay(None))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Delay, E> {
                Ok(Delay(Some(WholeInput::Whole(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Delay, E> {
                Ok(Delay(Some(
                    i64::try_from(v).map_or(WholeInput::NotWhole, WholeInput::Whole),
                )))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Delay, E> {
                Ok(Delay(Some(WholeInput::NotWhole)))
            }
            refuse_others!("must be a number"; visit_str(&str), visit_bool(bool));
            refuse_compound!("must be a number");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Delay {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Integer, Type::Null]))
            .minimum(Some(0))
            .maximum(Some(crate::domain::survey::MAX_DELAY_SECONDS))
            .into()
    }
}
impl ToSchema for Delay {}
