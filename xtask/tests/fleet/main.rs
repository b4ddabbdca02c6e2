//! xtask's fleet commands end to end: the xtask binary and the `minisign` tool run as child
//! processes, the host's verifier (`minisign-verify`) checks the results.

mod minisign_tool;
mod publish;
mod support;
