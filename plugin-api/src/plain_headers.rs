//! Header lookups over plain `(name, value)` vectors, shared by every ABI object the crate
//! itself implements from vectors (the test kit's request, [`crate::OwnedAnswer`]).

use abi_stable::std_types::{ROption, RStr, Tuple2};

/// The first value of `name`, compared case-insensitively as HTTP field names are.
pub(crate) fn first_value<'a>(
    headers: &'a [(String, String)],
    name: RStr<'_>,
) -> ROption<RStr<'a>> {
    headers
        .iter()
        .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name.as_str()))
        .map(|(_, value)| RStr::from(value.as_str()))
        .into()
}

/// The field at `index` as `(name, value)`, for iteration across the ABI.
pub(crate) fn field_at(
    headers: &[(String, String)],
    index: usize,
) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
    headers
        .get(index)
        .map(|(name, value)| Tuple2(RStr::from(name.as_str()), RStr::from(value.as_str())))
        .into()
}
