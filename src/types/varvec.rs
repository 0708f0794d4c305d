//! The on-disk layout of `memory.vector` and `memory.halfvec`, shared by both:
//! a 4-byte varlena header, `dim: u16`, `unused: u16`, then `dim` elements
//! (f32 or f16). This is pgvector's layout, so values are bit-compatible.
//!
//! `VecArg` borrows a (detoasted) argument without copying; `VecOut` owns
//! elements and is copied into a palloc'd varlena when returned.

use half::f16;
use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::{Datum, FromDatum, IntoDatum};
use pgrx::pg_sys;
use std::marker::PhantomData;

const HEADER: usize = 8;

/// An element type of a vector type.
pub trait Elem: Copy + 'static {
    /// SQL type name, for messages.
    const NAME: &'static str;
}

impl Elem for f32 {
    const NAME: &'static str = "vector";
}

impl Elem for f16 {
    const NAME: &'static str = "halfvec";
}

/// A vector argument, borrowed from the (detoasted) datum.
pub struct VecArg<'a, E: Elem> {
    ptr: *mut pg_sys::varlena,
    copied: bool,
    len: usize,
    _marker: PhantomData<&'a E>,
}

impl<E: Elem> VecArg<'_, E> {
    /// # Safety
    /// `datum` must be a non-null datum of the vector type with element `E`.
    pub(crate) unsafe fn from_datum_ptr(datum: pg_sys::Datum) -> Self {
        let raw = datum.cast_mut_ptr::<pg_sys::varlena>();
        // SAFETY: the caller passes a varlena datum of our type; detoasting
        // returns either the same pointer or a palloc'd 4-byte-header copy.
        let ptr = unsafe { pg_sys::pg_detoast_datum(raw) };
        // SAFETY: `ptr` is a detoasted varlena with a 4-byte header.
        let (total, dim) =
            unsafe { (varsize(ptr), (ptr as *const u8).add(4).cast::<u16>().read()) };
        let expected = HEADER + dim as usize * std::mem::size_of::<E>();
        if total != expected || dim == 0 {
            crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                format!("corrupted {} value", E::NAME),
                Some(format!("Size {total} does not match {dim} dimensions.")),
                None,
            );
        }
        VecArg {
            ptr,
            copied: ptr != raw,
            len: dim as usize,
            _marker: PhantomData,
        }
    }

    pub fn as_slice(&self) -> &[E] {
        // SAFETY: the header was checked in `from_datum_ptr`: `len` elements
        // follow the 8-byte header; the varlena is 4-byte aligned (typalign
        // int4 or palloc'd), which satisfies f32 and f16 alignment.
        unsafe {
            std::slice::from_raw_parts((self.ptr as *const u8).add(HEADER).cast::<E>(), self.len)
        }
    }

    pub fn dims(&self) -> usize {
        self.len
    }
}

impl<E: Elem> Drop for VecArg<'_, E> {
    fn drop(&mut self) {
        if self.copied {
            // SAFETY: `ptr` was palloc'd by pg_detoast_datum for this value only.
            unsafe { pg_sys::pfree(self.ptr.cast()) }
        }
    }
}

/// # Safety
/// `ptr` must point to a varlena with a 4-byte header.
unsafe fn varsize(ptr: *const pg_sys::varlena) -> usize {
    // SAFETY: per the contract above.
    let word = unsafe { (ptr as *const u32).read() };
    #[cfg(target_endian = "little")]
    {
        (word >> 2) as usize
    }
    #[cfg(target_endian = "big")]
    {
        (word & 0x3FFF_FFFF) as usize
    }
}

impl<E: Elem> FromDatum for VecArg<'_, E> {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _typoid: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null || datum.is_null() {
            None
        } else {
            // SAFETY: non-null datum of our type (pgrx only hands us matching args).
            Some(unsafe { Self::from_datum_ptr(datum) })
        }
    }
}

// SAFETY: arguments of our functions are declared with our SQL type, so the
// datum is a varlena of the right layout; STRICT functions never see NULL.
unsafe impl<'fcx, E: Elem> ArgAbi<'fcx> for VecArg<'fcx, E> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: forwarded from the caller's contract.
        match unsafe { arg.unbox_arg_using_from_datum() } {
            Some(v) => v,
            None => crate::error::report(
                pgrx::PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!("argument {} must not be null", index + 1),
                None,
                None,
            ),
        }
    }
}

/// So that an SPI row's vector column can be read borrowed
/// (`row.get::<VectorArg>(n)`): pgrx's row accessor asks for both
/// conversions. Into a datum, the value gives its (detoasted) varlena.
impl<E: Elem> IntoDatum for VecArg<'_, E> {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let ptr = self.ptr;
        // A detoasted copy now belongs to the datum: it lives as long as
        // the memory context it was palloc'd in.
        std::mem::forget(self);
        Some(pg_sys::Datum::from(ptr))
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::InvalidOid
    }

    fn is_compatible_with(oid: pg_sys::Oid) -> bool {
        from_extension(oid)
    }
}

/// Whether a type was created after initdb (as ours are), so not a
/// built-in one: all a vector read can check without a catalog lookup.
fn from_extension(oid: pg_sys::Oid) -> bool {
    oid.to_u32() >= pg_sys::FirstNormalObjectId
}

/// An owned vector value to return.
pub struct VecOut<E: Elem>(pub Vec<E>);

impl<E: Elem> IntoDatum for VecOut<E> {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        let n = self.0.len();
        let size = HEADER + n * std::mem::size_of::<E>();
        // SAFETY: palloc0 returns `size` zeroed, MAXALIGNed bytes in the
        // current memory context; we fill the header and copy `n` elements.
        unsafe {
            let p = pg_sys::palloc0(size) as *mut u8;
            #[cfg(target_endian = "little")]
            (p as *mut u32).write((size as u32) << 2);
            #[cfg(target_endian = "big")]
            (p as *mut u32).write((size as u32) & 0x3FFF_FFFF);
            p.add(4).cast::<u16>().write(n as u16);
            std::ptr::copy_nonoverlapping(self.0.as_ptr(), p.add(HEADER).cast::<E>(), n);
            Some(pg_sys::Datum::from(p))
        }
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::InvalidOid
    }

    fn is_compatible_with(oid: pg_sys::Oid) -> bool {
        // InvalidOid: a value handed over without its type
        oid == pg_sys::InvalidOid || from_extension(oid)
    }
}

/// A value read back (say, from an SPI row) is copied out of the datum.
impl<E: Elem> FromDatum for VecOut<E> {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        typoid: pg_sys::Oid,
    ) -> Option<Self> {
        // SAFETY: the caller hands a datum of our type (SPI columns read
        // this way are memory.vector / memory.halfvec); the borrowed value
        // is copied before it is released.
        unsafe { VecArg::<E>::from_polymorphic_datum(datum, is_null, typoid) }
            .map(|v| VecOut(v.as_slice().to_vec()))
    }
}

// SAFETY: we return a freshly palloc'd varlena of our declared return type.
unsafe impl<E: Elem> BoxRet for VecOut<E> {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            // SAFETY: the datum lives in the function's memory context.
            Some(d) => unsafe { fcinfo.return_raw_datum(d) },
            None => fcinfo.return_null(),
        }
    }
}

pub type VectorArg<'a> = VecArg<'a, f32>;
pub type HalfvecArg<'a> = VecArg<'a, f16>;
pub type VectorOut = VecOut<f32>;
pub type HalfvecOut = VecOut<f16>;

pgrx::impl_sql_translatable!(VectorArg<'_>, "memory.vector");
pgrx::impl_sql_translatable!(HalfvecArg<'_>, "memory.halfvec");
pgrx::impl_sql_translatable!(VectorOut, "memory.vector");
pgrx::impl_sql_translatable!(HalfvecOut, "memory.halfvec");

/// The elements of a `memory.vector` (`half = false`) or `memory.halfvec`
/// datum, widened to f32. Used by the index access method.
///
/// # Safety
/// `datum` must be a non-null datum of the stated type.
pub unsafe fn datum_to_f32(datum: pg_sys::Datum, half: bool) -> Vec<f32> {
    if half {
        // SAFETY: per the function's contract.
        let a = unsafe { VecArg::<f16>::from_datum_ptr(datum) };
        memory_core::vector::from_f16(a.as_slice())
    } else {
        // SAFETY: per the function's contract.
        let a = unsafe { VecArg::<f32>::from_datum_ptr(datum) };
        a.as_slice().to_vec()
    }
}
