//! SQL functions of `memory.vector` (f32) and `memory.halfvec` (f16): I/O,
//! typmod, casts and distances. The math lives in `memory_core::vector`; the
//! type definitions, operators and casts are in `sql/finalize.sql`.

use super::varvec::{HalfvecArg, HalfvecOut, VecOut, VectorArg, VectorOut};
use crate::error::{report, OrRaise};
use half::f16;
use memory_core::vector as vmath;
use pgrx::prelude::*;
use pgrx::{pg_sys, Internal, PgSqlErrorCode};
use std::ffi::{CStr, CString};

fn half_to_f32(v: &[f16]) -> Vec<f32> {
    vmath::from_f16(v)
}

fn text_of(input: &CStr, type_name: &str) -> Vec<f32> {
    let s = input.to_str().unwrap_or_else(|_| {
        report(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {type_name}"),
            Some("The text is not valid UTF-8.".into()),
            None,
        )
    });
    vmath::parse(s, type_name).or_raise()
}

fn typmod_of(mods: Array<&CStr>, type_name: &str) -> i32 {
    let mut values = Vec::new();
    for m in mods.iter() {
        let n = m
            .and_then(|c| c.to_str().ok())
            .and_then(|s| s.trim().parse::<i32>().ok())
            .unwrap_or_else(|| {
                report(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("invalid type modifier for {type_name}"),
                    None,
                    Some("Write the number of dimensions, e.g. memory.vector(384).".into()),
                )
            });
        values.push(n);
    }
    vmath::typmod_in(&values, type_name).or_raise()
}

/// Read pgvector's binary format: int16 dim, int16 unused, then elements.
fn recv_elems<T>(
    buf: &mut Internal,
    type_name: &str,
    read: impl Fn(*mut pg_sys::StringInfoData) -> T,
) -> Vec<T> {
    // SAFETY: the receive function's first argument is a StringInfo.
    let si: *mut pg_sys::StringInfoData = unsafe {
        buf.get_mut::<pg_sys::StringInfoData>()
            .map(|r| r as *mut _)
            .unwrap_or(std::ptr::null_mut())
    };
    if si.is_null() {
        report(
            PgSqlErrorCode::ERRCODE_PROTOCOL_VIOLATION,
            format!("no data for binary {type_name}"),
            None,
            None,
        );
    }
    // SAFETY: `si` is a valid StringInfo; pq_getmsgint raises a protocol
    // error itself when the message is too short.
    let (dim, unused) = unsafe {
        (
            pg_sys::pq_getmsgint(si, 2) as u16,
            pg_sys::pq_getmsgint(si, 2),
        )
    };
    if unused != 0 {
        report(
            PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
            format!("invalid binary {type_name}: reserved field is not zero"),
            None,
            None,
        );
    }
    if dim == 0 || dim as usize > vmath::MAX_DIM {
        report(
            PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
            format!("invalid binary {type_name}: {dim} dimensions"),
            None,
            None,
        );
    }
    (0..dim).map(|_| read(si)).collect()
}

fn send_header(dim: usize, elem_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + dim * elem_bytes);
    out.extend_from_slice(&(dim as u16).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out
}

fn from_array<T>(arr: Array<T>, typmod: i32, type_name: &str, conv: impl Fn(T) -> f32) -> Vec<f32>
where
    for<'a> T: Copy + pgrx::datum::UnboxDatum<As<'a> = T>,
{
    let mut out = Vec::with_capacity(arr.len());
    for x in arr.iter() {
        match x {
            Some(v) => out.push(conv(v)),
            None => report(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "array must not contain nulls",
                None,
                Some(format!(
                    "Remove the NULL elements before casting to {type_name}."
                )),
            ),
        }
    }
    vmath::check_finite(&out, type_name).or_raise();
    vmath::check_typmod(out.len(), typmod).or_raise();
    out
}

fn same_dims(a: usize, b: usize) {
    vmath::check_same_dims(a, b).or_raise()
}

// ---------------------------------------------------------------- vector I/O

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_in(input: &CStr, _oid: pg_sys::Oid, typmod: i32) -> VectorOut {
    let v = text_of(input, "vector");
    vmath::check_typmod(v.len(), typmod).or_raise();
    VecOut(v)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_out(v: VectorArg) -> CString {
    CString::new(vmath::format(v.as_slice())).unwrap_or_default()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_typmod_in(mods: Array<&CStr>) -> i32 {
    typmod_of(mods, "vector")
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_recv(mut buf: Internal, _oid: pg_sys::Oid, typmod: i32) -> VectorOut {
    // SAFETY: `si` comes from recv_elems and is a valid StringInfo.
    let v = recv_elems(&mut buf, "vector", |si| unsafe {
        pg_sys::pq_getmsgfloat4(si)
    });
    vmath::check_finite(&v, "vector").or_raise();
    vmath::check_typmod(v.len(), typmod).or_raise();
    VecOut(v)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_send(v: VectorArg) -> Vec<u8> {
    let s = v.as_slice();
    let mut out = send_header(s.len(), 4);
    for x in s {
        out.extend_from_slice(&x.to_bits().to_be_bytes());
    }
    out
}

/// Enforce a column's dimensions on assignment (`memory.vector(3)`).
#[pg_extern(immutable, strict, parallel_safe, name = "vector")]
fn vector_typmod_cast(v: VectorArg, typmod: i32, _explicit: bool) -> VectorOut {
    vmath::check_typmod(v.dims(), typmod).or_raise();
    VecOut(v.as_slice().to_vec())
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_vector")]
fn real_array_to_vector(arr: Array<f32>, typmod: i32, _explicit: bool) -> VectorOut {
    VecOut(from_array(arr, typmod, "vector", |x| x))
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_vector")]
fn double_array_to_vector(arr: Array<f64>, typmod: i32, _explicit: bool) -> VectorOut {
    VecOut(from_array(arr, typmod, "vector", |x| x as f32))
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_vector")]
fn int_array_to_vector(arr: Array<i32>, typmod: i32, _explicit: bool) -> VectorOut {
    VecOut(from_array(arr, typmod, "vector", |x| x as f32))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_to_float4(v: VectorArg, _typmod: i32, _explicit: bool) -> Vec<f32> {
    v.as_slice().to_vec()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_to_halfvec(v: VectorArg, typmod: i32, _explicit: bool) -> HalfvecOut {
    vmath::check_typmod(v.dims(), typmod).or_raise();
    VecOut(vmath::to_f16(v.as_slice()).or_raise())
}

// ------------------------------------------------------------ vector functions

#[pg_extern(immutable, strict, parallel_safe, name = "dims")]
fn vector_dims(v: VectorArg) -> i32 {
    v.dims() as i32
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_norm")]
fn vector_l2_norm(v: VectorArg) -> f64 {
    vmath::l2_norm(v.as_slice())
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_normalize")]
fn vector_l2_normalize(v: VectorArg) -> VectorOut {
    VecOut(vmath::normalize(v.as_slice()))
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_distance")]
fn vector_l2_distance(a: VectorArg, b: VectorArg) -> f64 {
    same_dims(a.dims(), b.dims());
    vmath::l2_distance(a.as_slice(), b.as_slice())
}

#[pg_extern(immutable, strict, parallel_safe, name = "cosine_distance")]
fn vector_cosine_distance(a: VectorArg, b: VectorArg) -> f64 {
    same_dims(a.dims(), b.dims());
    vmath::cosine_distance(a.as_slice(), b.as_slice())
}

#[pg_extern(immutable, strict, parallel_safe, name = "inner_product")]
fn vector_inner_product(a: VectorArg, b: VectorArg) -> f64 {
    same_dims(a.dims(), b.dims());
    vmath::dot(a.as_slice(), b.as_slice()) as f64
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_negative_inner_product(a: VectorArg, b: VectorArg) -> f64 {
    same_dims(a.dims(), b.dims());
    -(vmath::dot(a.as_slice(), b.as_slice()) as f64)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_eq(a: VectorArg, b: VectorArg) -> bool {
    a.as_slice() == b.as_slice()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn vector_ne(a: VectorArg, b: VectorArg) -> bool {
    a.as_slice() != b.as_slice()
}

// --------------------------------------------------------------- halfvec I/O

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_in(input: &CStr, _oid: pg_sys::Oid, typmod: i32) -> HalfvecOut {
    let v = text_of(input, "halfvec");
    vmath::check_typmod(v.len(), typmod).or_raise();
    VecOut(vmath::to_f16(&v).or_raise())
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_out(v: HalfvecArg) -> CString {
    CString::new(vmath::format(&half_to_f32(v.as_slice()))).unwrap_or_default()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_typmod_in(mods: Array<&CStr>) -> i32 {
    typmod_of(mods, "halfvec")
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_recv(mut buf: Internal, _oid: pg_sys::Oid, typmod: i32) -> HalfvecOut {
    // SAFETY: `si` comes from recv_elems and is a valid StringInfo.
    let v = recv_elems(&mut buf, "halfvec", |si| unsafe {
        f16::from_bits(pg_sys::pq_getmsgint(si, 2) as u16)
    });
    vmath::check_finite(&half_to_f32(&v), "halfvec").or_raise();
    vmath::check_typmod(v.len(), typmod).or_raise();
    VecOut(v)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_send(v: HalfvecArg) -> Vec<u8> {
    let s = v.as_slice();
    let mut out = send_header(s.len(), 2);
    for x in s {
        out.extend_from_slice(&x.to_bits().to_be_bytes());
    }
    out
}

#[pg_extern(immutable, strict, parallel_safe, name = "halfvec")]
fn halfvec_typmod_cast(v: HalfvecArg, typmod: i32, _explicit: bool) -> HalfvecOut {
    vmath::check_typmod(v.dims(), typmod).or_raise();
    VecOut(v.as_slice().to_vec())
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_halfvec")]
fn real_array_to_halfvec(arr: Array<f32>, typmod: i32, _explicit: bool) -> HalfvecOut {
    VecOut(vmath::to_f16(&from_array(arr, typmod, "halfvec", |x| x)).or_raise())
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_halfvec")]
fn double_array_to_halfvec(arr: Array<f64>, typmod: i32, _explicit: bool) -> HalfvecOut {
    VecOut(vmath::to_f16(&from_array(arr, typmod, "halfvec", |x| x as f32)).or_raise())
}

#[pg_extern(immutable, strict, parallel_safe, name = "array_to_halfvec")]
fn int_array_to_halfvec(arr: Array<i32>, typmod: i32, _explicit: bool) -> HalfvecOut {
    VecOut(vmath::to_f16(&from_array(arr, typmod, "halfvec", |x| x as f32)).or_raise())
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_to_float4(v: HalfvecArg, _typmod: i32, _explicit: bool) -> Vec<f32> {
    half_to_f32(v.as_slice())
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_to_vector(v: HalfvecArg, typmod: i32, _explicit: bool) -> VectorOut {
    vmath::check_typmod(v.dims(), typmod).or_raise();
    VecOut(half_to_f32(v.as_slice()))
}

// ----------------------------------------------------------- halfvec functions

#[pg_extern(immutable, strict, parallel_safe, name = "dims")]
fn halfvec_dims(v: HalfvecArg) -> i32 {
    v.dims() as i32
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_norm")]
fn halfvec_l2_norm(v: HalfvecArg) -> f64 {
    vmath::l2_norm(&half_to_f32(v.as_slice()))
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_normalize")]
fn halfvec_l2_normalize(v: HalfvecArg) -> HalfvecOut {
    VecOut(vmath::to_f16(&vmath::normalize(&half_to_f32(v.as_slice()))).or_raise())
}

fn half_pair(a: &HalfvecArg, b: &HalfvecArg) -> (Vec<f32>, Vec<f32>) {
    same_dims(a.dims(), b.dims());
    (half_to_f32(a.as_slice()), half_to_f32(b.as_slice()))
}

#[pg_extern(immutable, strict, parallel_safe, name = "l2_distance")]
fn halfvec_l2_distance(a: HalfvecArg, b: HalfvecArg) -> f64 {
    let (x, y) = half_pair(&a, &b);
    vmath::l2_distance(&x, &y)
}

#[pg_extern(immutable, strict, parallel_safe, name = "cosine_distance")]
fn halfvec_cosine_distance(a: HalfvecArg, b: HalfvecArg) -> f64 {
    let (x, y) = half_pair(&a, &b);
    vmath::cosine_distance(&x, &y)
}

#[pg_extern(immutable, strict, parallel_safe, name = "inner_product")]
fn halfvec_inner_product(a: HalfvecArg, b: HalfvecArg) -> f64 {
    let (x, y) = half_pair(&a, &b);
    vmath::dot(&x, &y) as f64
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_negative_inner_product(a: HalfvecArg, b: HalfvecArg) -> f64 {
    let (x, y) = half_pair(&a, &b);
    -(vmath::dot(&x, &y) as f64)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_eq(a: HalfvecArg, b: HalfvecArg) -> bool {
    a.as_slice() == b.as_slice()
}

#[pg_extern(immutable, strict, parallel_safe)]
fn halfvec_ne(a: HalfvecArg, b: HalfvecArg) -> bool {
    a.as_slice() != b.as_slice()
}
