//! The field types of npsd's request bodies: each deserialises one JSON value the way the API has
//! always read it, and refuses anything else with the message clients see on the 422 (the field's
//! path comes from `serde_path_to_error`, see [`parse`]). The bodies themselves are plain serde
//! structs beside their handlers, deriving `Deserialize` and `ToSchema` from these.
//! (Over 400 lines: one small type per JSON shape, each with its visitor and its schema; they
//! share the visitor macros, so they stay in one file.)
use crate::domain::{ValidationError, WholeInput};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_path_to_error::Segment;
use std::fmt;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Deserialises a request body (an object unless `T` says otherwise), naming the field at fault
/// as the API always has: `properties.plan`, `digest.weekday` (list items by their list).
pub fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    crate::domain::reject_nul(&value)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e
            .path()
            .iter()
            .filter_map(|s| match s {
                Segment::Map { key } => Some(key.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(".");
        let field = if field.is_empty() {
            "body".to_string()
        } else {
            field
        };
        ValidationError::new(field, e.into_inner().to_string())
    })
}

/// Like [`parse`], for a body that must be a JSON object.
pub fn parse_object<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    if !value.is_object() {
        crate::domain::reject_nul(&value)?;
        return Err(ValidationError::new("body", "must be a JSON object"));
    }
    parse(value)
}

/// A field that may be left out (`None`), told apart from one sent as `null` (which `T` reads
/// itself): `#[serde(default, deserialize_with = "fields::present")]`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A visitor that refuses every JSON type with one message, except those its kind accepts.
macro_rules! refuse_others {
    ($msg:expr; $($method:ident($($arg:ty)?)),* $(,)?) => {$(
        fn $method<E: de::Error>(self $(, _: $arg)?) -> Result<Self::Value, E> {
            Err(E::custom($msg))
        }
    )*};
}

/// The JSON types a visitor did not accept, refused with `$msg`.
macro_rules! refuse_compound {
    ($msg:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom($msg))
        }
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(de::Error::custom($msg))
        }
    };
}

/// A string, kept as sent; anything else (`null` too) is refused.
#[derive(Debug, Clone)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            refuse_others!("must be a string"; visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
            refuse_compound!("must be a string");
        }
        d.deserialize_any(V)
    }
}

fn string_schema() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).into()
}

impl PartialSchema for Text {
    fn schema() -> RefOr<Schema> {
        string_schema()
    }
}
impl ToSchema for Text {}

/// An optional string: `null`, blank or left out is none; surrounding space is trimmed.
#[derive(Debug, Clone, Default)]
pub struct OptText(pub Option<String>);

impl<'de> Deserialize<'de> for OptText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OptText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OptText, E> {
                Ok(OptText(
                    Some(v.trim().to_string()).filter(|s| !s.is_empty()),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OptText, E> {
                Ok(OptText(None))
            }
            refuse_others!("must be a string"; visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
            refuse_compound!("must be a string");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for OptText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .into()
    }
}
impl ToSchema for OptText {}

/// A setting that can be cleared: a string sets it, `null` clears it.
#[derive(Debug, Clone)]
pub struct Clearable(pub Option<String>);

impl<'de> Deserialize<'de> for Clearable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Clearable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Clearable, E> {
                Ok(Clearable(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Clearable, E> {
                Ok(Clearable(None))
            }
            refuse_others!("must be a string or null"; visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
            refuse_compound!("must be a string or null");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Clearable {
    fn schema() -> RefOr<Schema> {
        OptText::schema()
    }
}
impl ToSchema for Clearable {}

/// A JSON number as sent (an integer JSON keeps exact, or a float), or something else.
#[derive(Debug, Clone)]
pub enum Number {
    Exact(serde_json::Number),
    Other,
}

/// Reads a JSON number, or notes that the value was not one.
fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Number;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
            Ok(Number::Exact(v.into()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
            Ok(Number::Exact(v.into()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
            Ok(serde_json::Number::from_f64(v).map_or(Number::Other, Number::Exact))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Number, E> {
            Ok(Number::Other)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Number, E> {
            Ok(Number::Other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Number, E> {
            Ok(Number::Other)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Number, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Number::Other)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Number, A::Error> {
            while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Number::Other)
        }
    }
    d.deserialize_any(V)
}

/// A whole number that fits `T`; anything else is refused as "must be a whole number".
#[derive(Debug, Clone, Copy)]
pub struct Whole<T>(pub T);

impl<'de, T: TryFrom<i64>> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match number(d)? {
            Number::Exact(n) => n
                .as_i64()
                .and_then(|v| T::try_from(v).ok())
                .map(Whole)
                .ok_or_else(|| de::Error::custom("must be a whole number")),
            Number::Other => Err(de::Error::custom("must be a whole number")),
        }
    }
}

impl<T> PartialSchema for Whole<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .into()
    }
}
impl<T> ToSchema for Whole<T> {}

/// `true` or `false`; anything else (`null` too) is refused.
#[derive(Debug, Clone, Copy)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            refuse_others!("must be true or false"; visit_unit(), visit_str(&str), visit_i64(i64), visit_u64(u64), visit_f64(f64));
            refuse_compound!("must be true or false");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for Flag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).into()
    }
}
impl ToSchema for Flag {}

/// A list of strings; `null` is the empty list. Anything else is refused with `M`'s message.
#[derive(Debug, Clone, Default)]
pub struct TextList<M: ListMessage = Strings>(pub Vec<String>, std::marker::PhantomData<M>);

/// The message a [`TextList`] refuses other values with, and whether `null` is the empty list.
pub trait ListMessage {
    const MESSAGE: &'static str;
    const NULL_IS_EMPTY: bool = true;
}

/// "must be a list of strings"
#[derive(Debug, Clone, Default)]
pub struct Strings;
impl ListMessage for Strings {
    const MESSAGE: &'static str = "must be a list of strings";
}

/// "must be a list of email addresses", `null` included.
#[derive(Debug, Clone, Default)]
pub struct Addresses;
impl ListMessage for Addresses {
    const MESSAGE: &'static str = "must be a list of email addresses";
    const NULL_IS_EMPTY: bool = false;
}

impl<'de, M: ListMessage> Deserialize<'de> for TextList<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<M>(std::marker::PhantomData<M>);
        impl<'de, M: ListMessage> Visitor<'de> for V<M> {
            type Value = TextList<M>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                if M::NULL_IS_EMPTY {
                    Ok(TextList(Vec::new(), std::marker::PhantomData))
                } else {
                    Err(E::custom(M::MESSAGE))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = a.next_element::<serde_json::Value>()? {
                    match item {
                        serde_json::Value::String(s) => out.push(s),
                        _ => return Err(de::Error::custom(M::MESSAGE)),
                    }
                }
                Ok(TextList(out, std::marker::PhantomData))
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom(M::MESSAGE))
            }
            refuse_others!(M::MESSAGE; visit_str(&str), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<M: ListMessage> PartialSchema for TextList<M> {
    fn schema() -> RefOr<Schema> {
        ArrayBuilder::new().items(string_schema()).into()
    }
}
impl<M: ListMessage> ToSchema for TextList<M> {}

/// A string as sent; any other value reads as the empty string, for the checks to refuse
/// with their own words (a digest's weekday, time zone and period).
#[derive(Debug, Clone, Default)]
pub struct LooseText(pub String);

impl<'de> Deserialize<'de> for LooseText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(|v| match v {
            serde_json::Value::String(s) => LooseText(s),
            _ => LooseText(String::new()),
        })
    }
}

impl PartialSchema for LooseText {
    fn schema() -> RefOr<Schema> {
        string_schema()
    }
}
impl ToSchema for LooseText {}

/// A JSON number, whole or not; anything else is refused with `M`'s message.
#[derive(Debug, Clone, Copy)]
pub struct Num<M: NumberMessage>(pub WholeInput, std::marker::PhantomData<M>);

/// The message a [`Num`] refuses what is not a number with.
pub trait NumberMessage {
    const MESSAGE: &'static str;
}

/// "must be a whole hour from 0 to 23"
#[derive(Debug, Clone, Copy)]
pub struct HourMessage;
impl NumberMessage for HourMessage {
    const MESSAGE: &'static str = "must be a whole hour from 0 to 23";
}

impl<'de, M: NumberMessage> Deserialize<'de> for Num<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match number(d)? {
            Number::Exact(n) => Ok(Num(
                n.as_i64().map_or(WholeInput::NotWhole, WholeInput::Whole),
                std::marker::PhantomData,
            )),
            Number::Other => Err(de::Error::custom(M::MESSAGE)),
        }
    }
}

impl<M: NumberMessage> PartialSchema for Num<M> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Integer).into()
    }
}
impl<M: NumberMessage> ToSchema for Num<M> {}

/// A string kept as sent, or `null` (none); anything else is refused as "must be a string".
#[derive(Debug, Clone, Default)]
pub struct NullableText(pub Option<String>);

impl<'de> Deserialize<'de> for NullableText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NullableText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NullableText, E> {
                Ok(NullableText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<NullableText, E> {
                Ok(NullableText(None))
            }
            refuse_others!("must be a string"; visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
            refuse_compound!("must be a string");
        }
        d.deserialize_any(V)
    }
}

impl PartialSchema for NullableText {
    fn schema() -> RefOr<Schema> {
        OptText::schema()
    }
}
impl ToSchema for NullableText {}

/// A list of strings, or `null` (none); anything else is refused as "must be a list of strings".
#[derive(Debug, Clone, Default)]
pub struct OptTextList(pub Option<Vec<String>>);

impl<'de> Deserialize<'de> for OptTextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(OptTextList(None)),
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    _ => Err(de::Error::custom("must be a list of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|l| OptTextList(Some(l))),
            _ => Err(de::Error::custom("must be a list of strings")),
        }
    }
}

mod transaction;
pub use transaction::{Delay, Properties, PropertyValue, TransactionId};
