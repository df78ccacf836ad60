//! Facts held in Rust values: any [`Serialize`] value becomes a [`Raw`] tree, which is then
//! checked against the schema by the same code as fact files.
//!
//! Going through [`Raw`] rather than `serde_json::Value` keeps what a file would keep: keys in
//! order and duplicates included (a hand-written `Serialize` can emit the same key twice, and that
//! is reported as in a file), numbers as they are (a NaN stays a number, where `serde_json` would
//! turn it into `null`), and no hashing of keys. Values map to the tree as `serde_json` writes
//! them: a unit enum variant is its name (so a Rust `enum` whose variants are renamed to the
//! policy's values is an enum fact), `None` and `()` are null, a newtype is its content, and
//! the other variants are a one-key mapping from the variant's name.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::ser;

use super::Raw;

/// Why a value could not be turned into facts: a `Serialize` implementation failed.
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

/// The raw tree of any serialisable value.
pub(crate) fn to_raw<T: Serialize + ?Sized>(value: &T) -> Result<Raw<'static>, Error> {
    value.serialize(RawSerializer)
}

struct RawSerializer;

fn str_raw(s: impl Into<String>) -> Raw<'static> {
    Raw::Str(Cow::Owned(s.into()))
}

/// A whole number as a file reader keeps it: `Int` when it fits an `i64`, else a number that no
/// `int` fact accepts.
fn wide_int(n: i128) -> Raw<'static> {
    i64::try_from(n).map_or(Raw::Float(n as f64), Raw::Int)
}

impl ser::Serializer for RawSerializer {
    type Ok = Raw<'static>;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = Variant<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = Variant<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Raw<'static>, Error> {
        Ok(Raw::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Raw<'static>, Error> {
        Ok(wide_int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Raw<'static>, Error> {
        Ok(Raw::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Raw<'static>, Error> {
        Ok(wide_int(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<Raw<'static>, Error> {
        Ok(i128::try_from(v).map_or(Raw::Float(v as f64), wide_int))
    }
    fn serialize_f32(self, v: f32) -> Result<Raw<'static>, Error> {
        Ok(Raw::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Raw<'static>, Error> {
        Ok(Raw::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Raw<'static>, Error> {
        Ok(str_raw(v))
    }
    fn serialize_str(self, v: &str) -> Result<Raw<'static>, Error> {
        Ok(str_raw(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Raw<'static>, Error> {
        Ok(Raw::Seq(v.iter().map(|b| Raw::Int((*b).into())).collect()))
    }
    fn serialize_none(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Raw<'static>, Error> {
        Ok(Raw::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Raw<'static>, Error> {
        Ok(str_raw(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Raw<'static>, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Raw<'static>, Error> {
        Ok(Raw::Map(vec![(str_raw(variant), value.serialize(self)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0).min(1024))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<SeqBuilder>, Error> {
        Ok(Variant { name: variant, inner: self.serialize_seq(Some(len))? })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder { entries: Vec::with_capacity(len.unwrap_or(0).min(1024)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Variant<MapBuilder>, Error> {
        Ok(Variant { name: variant, inner: self.serialize_map(Some(len))? })
    }
}

pub(crate) struct SeqBuilder(Vec<Raw<'static>>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(value.serialize(RawSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        ser::SerializeSeq::end(self)
    }
}

pub(crate) struct MapBuilder {
    entries: Vec<(Raw<'static>, Raw<'static>)>,
    /// A key given by `serialize_key`, waiting for its value.
    key: Option<Raw<'static>>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(RawSerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error("a map value was given without its key".into()))?;
        self.entries.push((key, value.serialize(RawSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.entries.push((str_raw(key), value.serialize(RawSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Map(self.entries))
    }
}

/// A tuple or struct variant: a one-key mapping from the variant's name to its content.
pub(crate) struct Variant<B> {
    name: &'static str,
    inner: B,
}

impl ser::SerializeTupleVariant for Variant<SeqBuilder> {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Map(vec![(str_raw(self.name), ser::SerializeSeq::end(self.inner)?)]))
    }
}

impl ser::SerializeStructVariant for Variant<MapBuilder> {
    type Ok = Raw<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<Raw<'static>, Error> {
        Ok(Raw::Map(vec![(str_raw(self.name), ser::SerializeStruct::end(self.inner)?)]))
    }
}
