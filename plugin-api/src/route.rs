//! The route syntax, checked in one place for both sides: `export_adapter!` evaluates
//! [`check_route`] in a `const` so a pattern that cannot parse does not compile, and the
//! host's router parses manifests with the same rules (a plugin built by hand, or by an
//! older SDK, is still checked at load).
//!
//! A pattern starts with `/`; each segment between slashes is non-empty and either literal
//! text without `{` or `}`, or a whole `{name}` of ASCII letters, digits and `_`; a name
//! appears once. `/` alone is the adapter's root.

/// The methods an adapter may route on, as written in `export_adapter!` and manifests.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

/// Why a route cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// The method is not one of [`METHODS`].
    Method,
    /// The path does not start with `/`.
    NoLeadingSlash,
    /// Two slashes in a row, or a trailing slash.
    EmptySegment,
    /// A `{...}` segment whose name is empty or not letters, digits and `_`, or a `{`
    /// without its `}`.
    BadParam,
    /// Text and a parameter in one segment (`/a{id}`), or a stray `}`.
    MixedSegment,
    /// The same parameter name twice.
    DuplicateParam,
}

impl RouteError {
    /// What is wrong, in words.
    pub const fn message(self) -> &'static str {
        match self {
            Self::Method => "the method is not GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS",
            Self::NoLeadingSlash => "the path must start with '/'",
            Self::EmptySegment => "the path has an empty segment ('//' or a trailing '/')",
            Self::BadParam => {
                "a parameter must be a whole segment {name} of letters, digits and '_'"
            }
            Self::MixedSegment => "a segment mixes text and a parameter",
            Self::DuplicateParam => "a parameter name appears twice",
        }
    }
}

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for RouteError {}

/// Checks a method and a path pattern; usable in `const` items.
pub const fn check_route(method: &str, path: &str) -> Result<(), RouteError> {
    if !is_method(method) {
        return Err(RouteError::Method);
    }
    check_pattern(path)
}

/// For `export_adapter!`: fails the build when a route cannot be served, or when two
/// routes have the same method and shape (`/items/{id}` and `/items/{other}`), with a
/// message naming the route. Called in a `const` item, so its panic is a compile error.
#[doc(hidden)]
pub const fn assert_routes(routes: &[(&str, &str)]) {
    let mut index = 0;
    while index < routes.len() {
        let (method, path) = routes[index];
        if let Err(error) = check_route(method, path) {
            let message = Message::new()
                .push("route `")
                .push(method)
                .push(" ")
                .push(path)
                .push("` cannot be served: ")
                .push(error.message());
            panic!("{}", message.as_str());
        }
        let mut earlier = 0;
        while earlier < index {
            let (other_method, other_path) = routes[earlier];
            if bytes_eq(method.as_bytes(), other_method.as_bytes())
                && same_shape(path.as_bytes(), other_path.as_bytes())
            {
                let message = Message::new()
                    .push("route `")
                    .push(method)
                    .push(" ")
                    .push(path)
                    .push("` matches the same paths as `")
                    .push(other_method)
                    .push(" ")
                    .push(other_path)
                    .push("`");
                panic!("{}", message.as_str());
            }
            earlier += 1;
        }
        index += 1;
    }
}

/// True for one of [`METHODS`].
pub const fn is_method(method: &str) -> bool {
    let mut index = 0;
    while index < METHODS.len() {
        if bytes_eq(METHODS[index].as_bytes(), method.as_bytes()) {
            return true;
        }
        index += 1;
    }
    false
}

/// Checks a path pattern (see the module's rules); usable in `const` items.
pub const fn check_pattern(path: &str) -> Result<(), RouteError> {
    let bytes = path.as_bytes();
    if bytes.is_empty() || bytes[0] != b'/' {
        return Err(RouteError::NoLeadingSlash);
    }
    if bytes.len() == 1 {
        return Ok(());
    }
    // Segments are bytes[start..end], between slashes.
    let mut start = 1;
    while start <= bytes.len() {
        let end = segment_end(bytes, start);
        if end == start {
            return Err(RouteError::EmptySegment);
        }
        if let Err(error) = check_segment(bytes, start, end) {
            return Err(error);
        }
        if bytes[start] == b'{' && repeats_param(bytes, start, end) {
            return Err(RouteError::DuplicateParam);
        }
        start = end + 1;
    }
    Ok(())
}

/// The index of the `/` ending the segment that starts at `start`, or the length.
const fn segment_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < bytes.len() && bytes[end] != b'/' {
        end += 1;
    }
    end
}

const fn check_segment(bytes: &[u8], start: usize, end: usize) -> Result<(), RouteError> {
    if bytes[start] == b'{' {
        if bytes[end - 1] != b'}' || end - start < 3 {
            return Err(RouteError::BadParam);
        }
        let mut index = start + 1;
        while index < end - 1 {
            let byte = bytes[index];
            if !(byte.is_ascii_alphanumeric() || byte == b'_') {
                return Err(RouteError::BadParam);
            }
            index += 1;
        }
        return Ok(());
    }
    let mut index = start;
    while index < end {
        if bytes[index] == b'{' || bytes[index] == b'}' {
            return Err(RouteError::MixedSegment);
        }
        index += 1;
    }
    Ok(())
}

/// True when the parameter segment `bytes[start..end]` appeared earlier in the path.
const fn repeats_param(bytes: &[u8], start: usize, end: usize) -> bool {
    let mut earlier = 1;
    while earlier < start {
        let earlier_end = segment_end(bytes, earlier);
        if bytes[earlier] == b'{' && same_bytes(bytes, earlier, earlier_end, start, end) {
            return true;
        }
        earlier = earlier_end + 1;
    }
    false
}

const fn same_bytes(bytes: &[u8], a: usize, a_end: usize, b: usize, b_end: usize) -> bool {
    if a_end - a != b_end - b {
        return false;
    }
    let mut offset = 0;
    while offset < a_end - a {
        if bytes[a + offset] != bytes[b + offset] {
            return false;
        }
        offset += 1;
    }
    true
}

/// True when two valid patterns match the same paths: as many segments, the same literal
/// text where either has text, parameters in the same places.
const fn same_shape(a: &[u8], b: &[u8]) -> bool {
    let (mut a_start, mut b_start) = (1, 1);
    loop {
        let a_done = a_start >= a.len();
        let b_done = b_start >= b.len();
        if a_done || b_done {
            return a_done && b_done;
        }
        let a_end = segment_end(a, a_start);
        let b_end = segment_end(b, b_start);
        let a_param = a[a_start] == b'{';
        let b_param = b[b_start] == b'{';
        let same = if a_param || b_param {
            a_param && b_param
        } else {
            a_end - a_start == b_end - b_start
                && same_prefix_at(a, a_start, b, b_start, a_end - a_start)
        };
        if !same {
            return false;
        }
        a_start = a_end + 1;
        b_start = b_end + 1;
    }
}

const fn same_prefix_at(a: &[u8], a_start: usize, b: &[u8], b_start: usize, len: usize) -> bool {
    let mut offset = 0;
    while offset < len {
        if a[a_start + offset] != b[b_start + offset] {
            return false;
        }
        offset += 1;
    }
    true
}

/// A compile-time error message: `panic!` in a `const` takes one `&str`, so the pieces are
/// joined here (cut at 512 bytes, on a character boundary).
struct Message {
    bytes: [u8; 512],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            bytes: [0; 512],
            len: 0,
        }
    }

    const fn push(mut self, text: &str) -> Self {
        let text = text.as_bytes();
        let mut index = 0;
        while index < text.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = text[index];
            self.len += 1;
            index += 1;
        }
        self
    }

    const fn as_str(&self) -> &str {
        let (mut head, _) = self.bytes.split_at(self.len);
        // A cut inside a character: drop bytes until what is left is UTF-8.
        loop {
            match core::str::from_utf8(head) {
                Ok(text) => return text,
                Err(_) => head = head.split_at(head.len() - 1).0,
            }
        }
    }
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && same_prefix(a, b)
}

const fn same_prefix(a: &[u8], b: &[u8]) -> bool {
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

#[cfg(test)]
mod tests;
