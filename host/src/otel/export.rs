//! The exporter task: takes span bundles off the queue, batches them (up to `batch_size`
//! spans, or what arrived within `interval` of the first), and posts each batch as OTLP/HTTP
//! protobuf to the collector. It runs on the device runtime but never on a request's path:
//! requests only `try_send` into the queue.

use std::{sync::atomic::Ordering, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, Uri, header::CONTENT_TYPE, header::HeaderValue};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};

use super::{
    ExportConfig,
    encode::encode,
    queue::{SpanBundle, SpanQueue},
    span::SpanData,
};

/// How long one export may take before it counts as failed.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for the last batch.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The running exporter; [`Exporter::finish`] flushes what is queued and stops it.
pub struct Exporter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Exporter {
    /// Starts the task on the current runtime; the queue is what requests push into.
    pub fn start(config: ExportConfig) -> (SpanQueue, Self) {
        let (queue, receiver) = SpanQueue::new(config.queue_capacity);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(config, queue.clone(), receiver, stopped));
        (queue, Self { stop, task })
    }

    /// Exports what is queued (bounded in time), then ends the task.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(FLUSH_TIMEOUT, &mut task)
            .await
            .is_err()
        {
            task.abort();
            tracing::warn!("the span exporter did not flush in time; spans were lost");
        }
    }
}

async fn run(
    config: ExportConfig,
    queue: SpanQueue,
    mut receiver: mpsc::Receiver<SpanBundle>,
    mut stopped: oneshot::Receiver<()>,
) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut batch: Vec<SpanData> = Vec::with_capacity(config.batch_size);
    loop {
        // Wait for the first spans of a batch, or the stop.
        tokio::select! {
            bundle = receiver.recv() => match bundle {
                Some(bundle) => batch.extend(bundle),
                None => break,
            },
            _ = &mut stopped => break,
        }
        // Fill the batch until it is big enough or old enough.
        let due = tokio::time::Instant::now() + config.interval;
        let mut stopping = false;
        while batch.len() < config.batch_size {
            tokio::select! {
                bundle = receiver.recv() => match bundle {
                    Some(bundle) => batch.extend(bundle),
                    None => { stopping = true; break; }
                },
                _ = tokio::time::sleep_until(due) => break,
                _ = &mut stopped => { stopping = true; break; }
            }
        }
        post(&client, &config, &queue, std::mem::take(&mut batch)).await;
        if stopping {
            break;
        }
    }
    // Stopping: what is still queued goes out too.
    receiver.close();
    while let Ok(bundle) = receiver.try_recv() {
        batch.extend(bundle);
    }
    if !batch.is_empty() {
        post(&client, &config, &queue, batch).await;
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Posts `spans` in chunks of at most `batch_size`.
async fn post(client: &HttpClient, config: &ExportConfig, queue: &SpanQueue, spans: Vec<SpanData>) {
    for chunk in spans.chunks(config.batch_size.max(1)) {
        let body = encode(&config.service_name, chunk);
        match tokio::time::timeout(EXPORT_TIMEOUT, send(client, &config.endpoint, body)).await {
            Ok(Ok(())) => {
                queue
                    .stats
                    .exported_spans
                    .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            outcome => {
                let failures = queue.stats.failed_exports.fetch_add(1, Ordering::Relaxed);
                let reason = match outcome {
                    Ok(Err(reason)) => reason,
                    _ => format!("no answer within {} s", EXPORT_TIMEOUT.as_secs()),
                };
                // The first failure and then one in a hundred: a collector that is down
                // must not flood the log.
                if failures.is_multiple_of(100) {
                    tracing::warn!(endpoint = %config.endpoint, %reason, spans = chunk.len(), failures = failures + 1, "span export failed; spans dropped");
                }
            }
        }
    }
}

async fn send(client: &HttpClient, endpoint: &Uri, body: Vec<u8>) -> Result<(), String> {
    let mut request = Request::new(Full::new(Bytes::from(body)));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = endpoint.clone();
    request.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-protobuf"),
    );
    let response = client
        .request(request)
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    // Read the answer so the connection can be reused.
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the collector answered {status}"))
    }
}
