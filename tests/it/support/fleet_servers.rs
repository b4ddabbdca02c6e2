//! Real fleet servers for the fleet tests: an N-member etcd cluster ([`EtcdCluster`]) and a
//! SeaweedFS S3 store ([`S3Server`]), each on free 127.0.0.1 ports, with its data and its
//! log in a temporary directory of its own, and killed (with everything it started) when
//! dropped, so a failing test leaves no process behind.

mod etcd;
mod ports;
mod s3;
mod server_process;

pub use etcd::EtcdCluster;
pub use s3::S3Server;
