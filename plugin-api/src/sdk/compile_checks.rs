//! Mistakes `export_adapter!` turns into compile errors, each shown by a `compile_fail`
//! doctest beside an example that compiles, so each fails for the reason it names.
//!
//! The interface the examples use:
//!
//! ```
//! # use frontdoor_plugin_api::abi_stable::std_types::RString;
//! frontdoor_plugin_api::module_interface! {
//!     pub struct Greeter;
//!     pub trait GreeterModule;
//!     module "greeter";
//!     since "1.0" { fn greet(name: RString) -> RString; }
//! }
//! # fn main() {}
//! ```
//!
//! **Declared, and reached through `Ctx<Adapter>`: compiles.** `requires: { Greeter }`
//! binds module `greeter` with `^1.0`, read from the declaration.
//!
//! ```no_run
//! # use frontdoor_plugin_api::{Ctx, Request, Response, abi_stable::std_types::RString};
//! # frontdoor_plugin_api::module_interface! {
//! #     pub struct Greeter;
//! #     pub trait GreeterModule;
//! #     module "greeter";
//! #     since "1.0" { fn greet(name: RString) -> RString; }
//! # }
//! frontdoor_plugin_api::export_adapter! {
//!     requires: { Greeter },
//!     routes: { GET "/hello/{name}" => hello }
//! }
//!
//! async fn hello(request: Request, ctx: Ctx<Adapter>) -> Result<Response, Box<dyn std::error::Error>> {
//!     let name = RString::from(request.param("name").unwrap_or("you"));
//!     Ok(Response::text(200, ctx.module::<Greeter>()?.greet(name)?.as_str()))
//! }
//! # fn main() {}
//! ```
//!
//! **A module the adapter did not declare: does not compile** (E0277, "shared module
//! interface `Greeter` is not declared in this adapter's `requires`").
//!
//! ```compile_fail,E0277
//! # use frontdoor_plugin_api::{Ctx, Request, Response, abi_stable::std_types::RString};
//! # frontdoor_plugin_api::module_interface! {
//! #     pub struct Greeter;
//! #     pub trait GreeterModule;
//! #     module "greeter";
//! #     since "1.0" { fn greet(name: RString) -> RString; }
//! # }
//! frontdoor_plugin_api::export_adapter! {
//!     routes: { GET "/hello/{name}" => hello }
//! }
//!
//! async fn hello(request: Request, ctx: Ctx<Adapter>) -> Result<Response, Box<dyn std::error::Error>> {
//!     let name = RString::from(request.param("name").unwrap_or("you"));
//!     Ok(Response::text(200, ctx.module::<Greeter>()?.greet(name)?.as_str()))
//! }
//! # fn main() {}
//! ```
//!
//! **Plain `Ctx` knows no module: does not compile** (E0277), even when the adapter
//! declares it: the handler takes `Ctx<Adapter>` to reach its modules.
//!
//! ```compile_fail,E0277
//! # use frontdoor_plugin_api::{Ctx, Request, Response, abi_stable::std_types::RString};
//! # frontdoor_plugin_api::module_interface! {
//! #     pub struct Greeter;
//! #     pub trait GreeterModule;
//! #     module "greeter";
//! #     since "1.0" { fn greet(name: RString) -> RString; }
//! # }
//! frontdoor_plugin_api::export_adapter! {
//!     requires: { Greeter },
//!     routes: { GET "/hello/{name}" => hello }
//! }
//!
//! async fn hello(request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
//!     let name = RString::from(request.param("name").unwrap_or("you"));
//!     Ok(Response::text(200, ctx.module::<Greeter>()?.greet(name)?.as_str()))
//! }
//! # fn main() {}
//! ```
//!
//! **The short form needs an interface that names its module: does not compile** (E0080,
//! "this interface names no module"); the long form states it.
//!
//! ```compile_fail,E0080
//! # use frontdoor_plugin_api::{Ctx, Request, Response, abi_stable::std_types::RString};
//! frontdoor_plugin_api::module_interface! {
//!     pub struct Anonymous;
//!     pub trait AnonymousModule;
//!     since "1.0" { fn greet(name: RString) -> RString; }
//! }
//! frontdoor_plugin_api::export_adapter! {
//!     requires: { Anonymous },
//!     routes: { GET "/" => root }
//! }
//! async fn root(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! ```no_run
//! # use frontdoor_plugin_api::{Ctx, Request, Response, abi_stable::std_types::RString};
//! # frontdoor_plugin_api::module_interface! {
//! #     pub struct Anonymous;
//! #     pub trait AnonymousModule;
//! #     since "1.0" { fn greet(name: RString) -> RString; }
//! # }
//! frontdoor_plugin_api::export_adapter! {
//!     requires: { "greeter" "^1" => Anonymous },
//!     routes: { GET "/" => root }
//! }
//! # async fn root(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! **Routes the host would refuse: do not compile** (E0080, naming the route), with the
//! rules of `frontdoor_plugin_api::route`, which the host's router parses with too. The
//! same adapter with good routes compiles:
//!
//! ```no_run
//! # use frontdoor_plugin_api::{Ctx, Request, Response};
//! frontdoor_plugin_api::export_adapter! {
//!     routes: {
//!         GET "/items/{id}" => item,
//!         POST "/items/{id}" => item,
//!         GET "/items/{id}/parts/{part}" => item,
//!     }
//! }
//! # async fn item(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! An unclosed parameter ("route `GET /items/{id` cannot be served: a parameter must be a
//! whole segment {name} of letters, digits and '_'"):
//!
//! ```compile_fail,E0080
//! # use frontdoor_plugin_api::{Ctx, Request, Response};
//! frontdoor_plugin_api::export_adapter! {
//!     routes: { GET "/items/{id" => item }
//! }
//! # async fn item(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! A parameter named twice:
//!
//! ```compile_fail,E0080
//! # use frontdoor_plugin_api::{Ctx, Request, Response};
//! frontdoor_plugin_api::export_adapter! {
//!     routes: { GET "/items/{id}/parts/{id}" => item }
//! }
//! # async fn item(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! A method the host does not route:
//!
//! ```compile_fail,E0080
//! # use frontdoor_plugin_api::{Ctx, Request, Response};
//! frontdoor_plugin_api::export_adapter! {
//!     routes: { FETCH "/items/{id}" => item }
//! }
//! # async fn item(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! Two routes matching the same paths:
//!
//! ```compile_fail,E0080
//! # use frontdoor_plugin_api::{Ctx, Request, Response};
//! frontdoor_plugin_api::export_adapter! {
//!     routes: {
//!         GET "/items/{id}" => item,
//!         GET "/items/{other}" => item,
//!     }
//! }
//! # async fn item(_: Request, _: Ctx) -> Response { Response::new(204) }
//! # fn main() {}
//! ```
//!
//! **A shared module takes the same `requires` list** (short or long form); it reaches a
//! dependency inside its calls with `dependency`, checked at run time:
//!
//! ```no_run
//! # use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};
//! # frontdoor_plugin_api::module_interface! {
//! #     pub struct Greeter;
//! #     pub trait GreeterModule;
//! #     module "greeter";
//! #     since "1.0" { fn greet(name: RString) -> RString; }
//! # }
//! struct Loud;
//!
//! impl GreeterModule for Loud {
//!     fn greet(name: RString) -> Result<RString, ModuleCallError> {
//!         let polite = frontdoor_plugin_api::dependency::<Greeter>()?.greet(name)?;
//!         Ok(polite.to_uppercase().into())
//!     }
//! }
//!
//! frontdoor_plugin_api::export_shared_module! {
//!     name: "loud-greeter",
//!     requires: { Greeter },
//!     interface: Greeter,
//!     implementation: Loud,
//! }
//! # fn main() {}
//! ```
