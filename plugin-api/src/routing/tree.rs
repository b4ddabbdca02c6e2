//! A version's routes compiled into a tree of path segments, built once when the version
//! is loaded: a request walks its own path's segments down the tree instead of trying
//! every route, and splits its path once instead of once per route.
//!
//! The tree answers exactly what [`super::match_route`] (the reference: every route in
//! declaration order) answers, for every method and path: among the routes whose pattern
//! matches the path, the first declared with the request's method; else 405 when some
//! route matches the path under another method; else 404. So where two patterns of one
//! method match the same path (`/items/new` and `/items/{id}`), the one declared first
//! wins, literal or not; `routing/tests.rs` checks the two agree on generated routes and
//! paths.
//!
//! Most requests name a literal route exactly as declared (`/home`). Each such path is
//! looked up first in a sorted list holding every route the tree finds for it, which costs
//! a binary search of whole paths instead of a walk (W1's route: about 290 instructions by
//! the walk, under callgrind); a path written any other way (`//home`, `/home/`, escapes)
//! and one whose answer has parameters take the walk.

use std::{cell::Cell, sync::Arc};

use super::{Params, RouteMatch, RoutePattern, Segment, percent_decode};

/// The routes of one version, as a tree of segments (see the module's documentation). The
/// tree lives in a few flat arrays (nodes, literal edges, their text, route ends,
/// parameters), so matching a request touches a few cache lines however many adapters'
/// trees are loaded beside it.
#[derive(Debug, Clone)]
pub struct RouteTree<M> {
    /// Each route's method, by route index.
    methods: Box<[M]>,
    /// `nodes[0]` is the root (the path's first segment is looked up from it).
    nodes: Box<[Node]>,
    /// Each node's literal edges, contiguous and sorted by text (searched by bisection).
    edges: Box<[Edge]>,
    /// Every edge's text, back to back.
    text: Box<str>,
    /// Each node's routes ending there, contiguous, in declaration order.
    ends: Box<[u32]>,
    /// Each route's parameters, contiguous, in the pattern's order.
    params: Box<[Param]>,
    /// Each route's parameters: where they start in `params`, and how many.
    route_params: Box<[Span]>,
    /// The paths of literal-only patterns as declared (`/home`), sorted, each with every
    /// route that matches it: a request for exactly that path, most requests, is answered
    /// by a search of this list instead of a walk of the tree.
    literal_paths: Box<[LiteralPath]>,
    /// The routes of each literal path, in declaration order, back to back.
    literal_routes: Box<[u32]>,
}

#[derive(Debug, Clone)]
struct LiteralPath {
    text: Box<str>,
    routes: Span,
}

/// A run of entries in one of the tree's arrays.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of<T>(self, items: &[T]) -> &[T] {
        let start = self.start as usize;
        &items[start..start + self.len as usize]
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Node {
    edges: Span,
    ends: Span,
    /// The node a parameter leads to, or [`NO_NODE`].
    param: u32,
}

const NO_NODE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Edge {
    text: Span,
    node: u32,
}

#[derive(Debug, Clone)]
struct Param {
    /// The index of the path segment it takes.
    segment: u32,
    name: Arc<str>,
}

/// The tree while it is built, one allocation per node; flattened once done.
#[derive(Default)]
struct Draft {
    ends: Vec<u32>,
    literals: Vec<(Box<str>, Draft)>,
    param: Option<Box<Draft>>,
}

thread_local! {
    static TREES_BUILT: Cell<u64> = const { Cell::new(0) };
}

/// How many route trees this thread has built so far: lets a test show that routing a
/// request builds none (trees are built when a version is loaded).
pub fn trees_built_on_this_thread() -> u64 {
    TREES_BUILT.with(Cell::get)
}

impl<M: PartialEq + Clone> RouteTree<M> {
    /// Compiles `routes` (route index = position in the slice).
    pub fn new(routes: &[(M, RoutePattern)]) -> Self {
        TREES_BUILT.with(|built| built.set(built.get() + 1));
        let mut root = Draft::default();
        let mut params = Vec::new();
        let mut route_params = Vec::with_capacity(routes.len());
        for (index, (_, pattern)) in routes.iter().enumerate() {
            let first_param = params.len();
            let mut node = &mut root;
            for (position, segment) in pattern.segments.iter().enumerate() {
                node = match segment {
                    Segment::Param(name) => {
                        params.push(Param {
                            segment: position as u32,
                            name: name.clone(),
                        });
                        &mut **node.param.get_or_insert_with(Box::default)
                    }
                    Segment::Literal(text) => {
                        let at = match node
                            .literals
                            .binary_search_by(|(known, _)| (**known).cmp(&**text))
                        {
                            Ok(at) => at,
                            Err(at) => {
                                node.literals.insert(at, (text.clone(), Draft::default()));
                                at
                            }
                        };
                        &mut node.literals[at].1
                    }
                };
            }
            // Routes are added in declaration order, so `ends` stays sorted.
            node.ends.push(index as u32);
            route_params.push(span(first_param, params.len() - first_param));
        }
        let mut tree = Self {
            methods: routes.iter().map(|(method, _)| method.clone()).collect(),
            nodes: Box::default(),
            edges: Box::default(),
            text: Box::default(),
            ends: Box::default(),
            params: params.into(),
            route_params: route_params.into(),
            literal_paths: Box::default(),
            literal_routes: Box::default(),
        };
        let mut flat = Flat::default();
        flat.add(&root);
        tree.nodes = flat.nodes.into();
        tree.edges = flat.edges.into();
        tree.text = flat.text.into();
        tree.ends = flat.ends.into();
        tree.index_literal_paths(routes);
        tree
    }

    /// Fills `literal_paths`: each literal-only pattern's text, with every route the tree
    /// finds for that path (any method), as the walk would see them.
    fn index_literal_paths(&mut self, routes: &[(M, RoutePattern)]) {
        let mut texts: Vec<Box<str>> = routes
            .iter()
            .filter_map(|(_, pattern)| literal_text(pattern))
            .collect();
        texts.sort_unstable();
        texts.dedup();
        let mut literal_routes = Vec::new();
        let literal_paths = texts
            .into_iter()
            .map(|text| {
                let start = literal_routes.len();
                self.each_end(0, segments(&text), &mut |ends| {
                    literal_routes.extend_from_slice(ends);
                });
                literal_routes[start..].sort_unstable();
                let routes = span(start, literal_routes.len() - start);
                LiteralPath { text, routes }
            })
            .collect();
        self.literal_paths = literal_paths;
        self.literal_routes = literal_routes.into();
    }
}

/// A pattern's text when it has no parameter (`/items/new`; `/` for the root), as a
/// request path is written: what the pattern prints.
fn literal_text(pattern: &RoutePattern) -> Option<Box<str>> {
    let literal = pattern
        .segments
        .iter()
        .all(|segment| matches!(segment, Segment::Literal(_)));
    literal.then(|| pattern.to_string().into())
}

fn span(start: usize, len: usize) -> Span {
    Span {
        start: start as u32,
        len: len as u32,
    }
}

/// The flat arrays being filled, depth first, so a node's subtree sits together.
#[derive(Default)]
struct Flat {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    text: String,
    ends: Vec<u32>,
}

impl Flat {
    /// Adds `draft` and its subtree; returns its index.
    fn add(&mut self, draft: &Draft) -> u32 {
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        let ends = span(self.ends.len(), draft.ends.len());
        self.ends.extend(&draft.ends);
        let edges = span(self.edges.len(), draft.literals.len());
        for (text, _) in &draft.literals {
            let text_span = span(self.text.len(), text.len());
            self.text.push_str(text);
            self.edges.push(Edge {
                text: text_span,
                node: NO_NODE,
            });
        }
        for (offset, (_, child)) in draft.literals.iter().enumerate() {
            let node = self.add(child);
            self.edges[edges.start as usize + offset].node = node;
        }
        let param = draft
            .param
            .as_deref()
            .map_or(NO_NODE, |child| self.add(child));
        self.nodes[index] = Node { edges, ends, param };
        index as u32
    }
}

impl<M: PartialEq> RouteTree<M> {
    /// What `method` and `path` (below the adapter's namespace, starting with `/`) resolve
    /// to. Allocates nothing unless the matched route has parameters (then one list) or a
    /// segment has `%` escapes (then its decoded text).
    pub fn find(&self, method: &M, path: &str) -> RouteMatch {
        if let Some(found) = self.find_literal(method, path) {
            return found;
        }
        // The lowest-numbered route that matches the path and the method, and whether any
        // route matches the path whatever its method.
        let mut best: Option<u32> = None;
        let mut path_exists = false;
        self.each_end(0, segments(path), &mut |ends| {
            if ends.is_empty() {
                return;
            }
            path_exists = true;
            // Declaration order: the first route ending here with the method is this node's
            // best; across nodes the lowest index wins.
            if let Some(&route) = ends
                .iter()
                .find(|&&route| self.methods[route as usize] == *method)
            {
                best = Some(best.map_or(route, |known| known.min(route)));
            }
        });
        match best {
            Some(route) => match self.captures(route, path) {
                Some(params) => RouteMatch::Found { route, params },
                // The walk matched this route against these very segments, so capturing
                // cannot fail; were it to, the path is not served rather than misrouted.
                None => RouteMatch::NotFound,
            },
            None if path_exists => RouteMatch::MethodNotAllowed,
            None => RouteMatch::NotFound,
        }
    }

    /// What `find` answers for a path written exactly as a literal-only pattern, without
    /// the walk; `None` for any other path, and where the route to answer has parameters
    /// (declared before the literal one, it takes this path too): the walk captures them.
    fn find_literal(&self, method: &M, path: &str) -> Option<RouteMatch> {
        let at = self
            .literal_paths
            .binary_search_by(|literal| (*literal.text).cmp(path))
            .ok()?;
        let routes = self.literal_paths[at].routes.of(&self.literal_routes);
        match routes
            .iter()
            .find(|&&route| self.methods[route as usize] == *method)
        {
            Some(&route) if self.route_params[route as usize].len == 0 => Some(RouteMatch::Found {
                route,
                params: Params::default(),
            }),
            Some(_) => None,
            None if !routes.is_empty() => Some(RouteMatch::MethodNotAllowed),
            None => None,
        }
    }

    /// Calls `on_end` with the routes ending at each node the remaining segments lead to
    /// from `node`: every branch they can take, since a segment may match a literal edge and
    /// the parameter both.
    fn each_end<'p>(
        &self,
        node: u32,
        mut rest: impl Iterator<Item = &'p str> + Clone,
        on_end: &mut impl FnMut(&[u32]),
    ) {
        let node = &self.nodes[node as usize];
        let Some(segment) = rest.next() else {
            on_end(node.ends.of(&self.ends));
            return;
        };
        let edges = node.edges.of(&self.edges);
        if let Ok(at) = edges.binary_search_by(|edge| self.edge_text(edge).cmp(segment)) {
            self.each_end(edges[at].node, rest.clone(), on_end);
        }
        // A parameter takes any segment that decodes (as the reference matcher requires).
        if node.param != NO_NODE && decodes(segment) {
            self.each_end(node.param, rest, on_end);
        }
    }

    /// The number of routes.
    pub fn len(&self) -> usize {
        self.methods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.methods.is_empty()
    }

    /// The parameters of `route`, which matched `path`.
    fn captures(&self, route: u32, path: &str) -> Option<Params> {
        let wanted = self.route_params[route as usize].of(&self.params);
        if wanted.is_empty() {
            return Some(Params::default());
        }
        let mut params = Params::with_capacity(wanted.len());
        let mut wanted = wanted.iter().peekable();
        for (position, part) in segments(path).enumerate() {
            let Some(param) = wanted.next_if(|param| param.segment as usize == position) else {
                continue;
            };
            if part.contains('%') {
                params.push_decoded(param.name.clone(), percent_decode(part)?);
            } else {
                params.push_in_path(param.name.clone(), path, part);
            }
        }
        Some(params)
    }

    fn edge_text(&self, edge: &Edge) -> &str {
        let start = edge.text.start as usize;
        &self.text[start..start + edge.text.len as usize]
    }
}

/// The non-empty segments of `path`, as every pattern is matched against them.
fn segments(path: &str) -> Segments<'_> {
    Segments(path.strip_prefix('/').unwrap_or(path))
}

/// `split('/')` without the empty parts, by a byte search: `str::split` with a char pattern
/// goes through the generic searcher, a few hundred instructions per request for a path of
/// one or two segments.
#[derive(Clone)]
struct Segments<'a>(&'a str);

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.0.is_empty() {
            let (part, rest) = match self.0.bytes().position(|byte| byte == b'/') {
                // `/` is one byte: the slices fall on character boundaries.
                Some(slash) => (&self.0[..slash], &self.0[slash + 1..]),
                None => (self.0, ""),
            };
            self.0 = rest;
            if !part.is_empty() {
                return Some(part);
            }
        }
        None
    }
}

/// True when `segment`'s `%` escapes decode to UTF-8 (copying only when it has escapes).
fn decodes(segment: &str) -> bool {
    !segment.contains('%') || percent_decode(segment).is_some()
}
