//! The MCP handler (rmcp's `ServerHandler`): the tool list with JSON schemas, argument decoding (a wrong type or an unknown key is a JSON-RPC `-32602` naming it; an unknown tool too), progress notifications per expansion when the caller sent a progress token, `notifications/cancelled` reaching the job, and answers as `structuredContent` with `isError` for infrastructure failures.

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
    ListResourceTemplatesResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::model::{
    CancelTaskParams, CreateTaskResult, DetailedTask, GetTaskParams, GetTaskResult, Task,
    TaskPayload, TaskStatus,
};
use rmcp::service::{RequestContext, RoleServer};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::tools::{
    Answer, CheckArgs, FillArgs, GoalArgs, JobArgs, PlanArgs, ProgressSink, ProveArgs, Tools,
    TryArgs,
};

/// The tools' names and what each is for: the interface agents see.
const TOOLS: [(&str, &str); 8] = [
    (
        "prover_prove",
        "Search for a proof within a budget: a `statement` (+ `header`), a sorry of a `file` at `line`/`column`, or the one sorry of a `theorem` of a `file`. Answers `status` (proved | failed | error), `proof` laid out for its site, `stop_reason`, acceptance `layers`, `axioms`, `statistics`, and on failure the `best_open_goals`. `wait: false` answers at once with a job number.",
    ),
    (
        "prover_fill_sorries",
        "Prove every sorry of a `file` (or of one `theorem`) in parallel; answers one edit per proved sorry. Writes the file only with `write: true` and only if it is unchanged since it was read.",
    ),
    (
        "prover_check",
        "Check a whole proof by `prover check`'s rules: `statement` + `proof` (+ `header`), or `file` + `theorem`. Answers the verdict, its acceptance layers, Lean's messages and the axioms.",
    ),
    (
        "prover_try",
        "Try each of `tactics` on a proof state (a `statement`, a sorry of a `file` at `line`/`column`, or the one sorry of a `theorem` of a `file`), each on the state itself, through the REPL pool and the cache: for each, `proved`, `open` with the goals after, or `error` with Lean's message.",
    ),
    (
        "prover_goal",
        "The goals of a proof state (a `statement`, a sorry of a `file` at `line`/`column`, or the one sorry of a `theorem` of a `file`), each as its case, hypotheses (names and type) and target.",
    ),
    (
        "prover_job",
        "A job's state by `id`: running (with its expansions so far) or ended (with its answer).",
    ),
    ("prover_cancel", "Cancel a running job by `id`."),
    (
        "prover_plan",
        "Prove a `statement` (+ `header`) with the planner: a direct search with a share of the `budget`, then proof skeletons (`have … := by sorry` lines) from a chat model whose holes the search closes, the assembled proof checked by `prover check`'s rules. Answers `status`, the checked `proof`, `outcome` (direct | plan | unproved), every skeleton tried with its label and holes, and `holes_closed`.",
    ),
];

/// The URI of a job's resource, before its number.
pub const JOB_RESOURCE: &str = "prover://jobs/";

/// How often a task's client is asked to poll `tasks/get`, in milliseconds.
const TASK_POLL_MS: u64 = 500;

/// The media type of a trace: JSON lines.
const TRACE_MIME: &str = "application/jsonl";

/// What a job's resource shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobPart {
    /// `prover://jobs/ID`: its state and answer.
    Answer,
    /// `prover://jobs/ID/trace`: its search's edges.
    Trace,
    /// `prover://jobs/ID/tree`: its search's tree in HTML.
    Tree,
}

/// The job and the part a resource URI names.
fn job_uri(uri: &str) -> Option<(u64, JobPart)> {
    let rest = uri.strip_prefix(JOB_RESOURCE)?;
    let (id, part) = match rest.split_once('/') {
        None => (rest, JobPart::Answer),
        Some((id, "trace")) => (id, JobPart::Trace),
        Some((id, "tree")) => (id, JobPart::Tree),
        Some(_) => return None,
    };
    Some((id.parse().ok()?, part))
}

/// The handler: cheap to clone, one per connection, all sharing one [`Tools`].
#[derive(Clone)]
pub struct Handler {
    tools: Arc<Tools>,
}

impl Handler {
    /// A handler over the shared tools.
    pub fn new(tools: Arc<Tools>) -> Handler {
        Handler { tools }
    }
}

fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let schema = schemars::schema_for!(T);
    match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Every tool with its input schema.
pub fn tool_list() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|(name, description)| {
            let input = match *name {
                "prover_prove" => schema::<ProveArgs>(),
                "prover_fill_sorries" => schema::<FillArgs>(),
                "prover_check" => schema::<CheckArgs>(),
                "prover_try" => schema::<TryArgs>(),
                "prover_goal" => schema::<GoalArgs>(),
                "prover_plan" => schema::<PlanArgs>(),
                _ => schema::<JobArgs>(),
            };
            Tool::new(*name, *description, input)
        })
        .collect()
}

/// Decodes a call's arguments, naming what is wrong.
fn arguments<T: DeserializeOwned>(tool: &str, args: Option<JsonObject>) -> Result<T, ErrorData> {
    let value = Value::Object(args.unwrap_or_default());
    serde_json::from_value(value)
        .map_err(|e| ErrorData::invalid_params(format!("{tool}: bad arguments: {e}"), None))
}

fn result(answer: Answer) -> CallToolResult {
    if answer.is_error {
        CallToolResult::structured_error(answer.value)
    } else {
        CallToolResult::structured(answer.value)
    }
}

impl rmcp::ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new("prover", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Lean 4 proof search, checking and sorry filling with budgets and honest stop \
                 reasons. An infrastructure failure is an error result with its cause, never an \
                 empty success; every call has a deadline.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tool_list()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{JOB_RESOURCE}{{id}}"), "job")
                .with_description(
                    "A job's state, and its answer (the result JSON) once it ended, by its number",
                )
                .with_mime_type("application/json"),
            ResourceTemplate::new(format!("{JOB_RESOURCE}{{id}}/trace"), "job trace")
                .with_description(
                    "A finished search's trace: every edge it tried, as JSON lines (the records \
                     `prove --trace DIR` writes)",
                )
                .with_mime_type(TRACE_MIME),
            ResourceTemplate::new(format!("{JOB_RESOURCE}{{id}}/tree"), "job tree")
                .with_description(
                    "A finished search's tree as a self-contained HTML page, as `prover tree` \
                     draws it",
                )
                .with_mime_type("text/html"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let not_found = |why: String| Err(ErrorData::resource_not_found(why, None));
        let Some((id, part)) = job_uri(&uri) else {
            return not_found(format!(
                "no resource {uri:?} (jobs are {JOB_RESOURCE}ID, {JOB_RESOURCE}ID/trace and \
                 {JOB_RESOURCE}ID/tree)"
            ));
        };
        let (text, mime) = match part {
            JobPart::Answer => match self.tools.job_resource(id) {
                Some(answer) => (answer.to_string(), "application/json"),
                None => return not_found(format!("no job {id} on this server")),
            },
            JobPart::Trace | JobPart::Tree => {
                let rows = match self.tools.job_trace(id) {
                    Ok(rows) => rows,
                    Err(why) => return not_found(why),
                };
                if part == JobPart::Trace {
                    (crate::to_proto::trace_jsonl(&rows), TRACE_MIME)
                } else {
                    (crate::to_proto::tree_html(&rows), "text/html")
                }
            }
        };
        let contents = ResourceContents::text(text, uri).with_mime_type(mime);
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        let unknown = || {
            ErrorData::invalid_params(
                format!("no task {:?} on this server", request.task_id),
                None,
            )
        };
        let id: u64 = request.task_id.parse().map_err(|_| unknown())?;
        let (status, is_error) = self.tools.job_status(id).ok_or_else(unknown)?;
        let created = status["started_at"].as_str().unwrap_or_default().to_owned();
        let task = Task::new(
            request.task_id.clone(),
            TaskStatus::Working,
            created,
            crate::jobs::now(),
        )
        .with_poll_interval_ms(TASK_POLL_MS);
        let payload = if status["state"] == "running" {
            let expansions = status["expansions"].as_u64().unwrap_or(0);
            return Ok(GetTaskResult::new(DetailedTask::new(
                task.with_status_message(format!("{expansions} expansions")),
                TaskPayload::Working,
            )));
        } else {
            // The tool's result, as `tools/call` would have answered it.
            let answer = status["answer"].clone();
            match serde_json::to_value(result(Answer {
                value: answer,
                is_error,
            })) {
                Ok(Value::Object(result)) => TaskPayload::Completed { result },
                _ => {
                    return Err(ErrorData::internal_error(
                        "a result did not serialize",
                        None,
                    ));
                }
            }
        };
        Ok(GetTaskResult::new(DetailedTask::new(task, payload)))
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let id: Option<u64> = request.task_id.parse().ok();
        match id.map(|id| self.tools.cancel(&JobArgs { id })) {
            Some(answer) if !answer.is_error => Ok(()),
            _ => Err(ErrorData::invalid_params(
                format!("no task {:?} on this server", request.task_id),
                None,
            )),
        }
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let progress = progress_sink(&context);
        let ct = context.ct.clone();
        let cancelled = async move { ct.cancelled().await };
        let args = request.arguments;
        let answer = match name.as_str() {
            "prover_prove" => {
                let mut args: ProveArgs = arguments(&name, args)?;
                // A client that declared MCP Tasks gets a task for a search it did not ask to
                // wait for: the job runs on, and `tasks/get` polls it.
                let as_task = args.wait.is_none()
                    && context
                        .client_capabilities()
                        .is_some_and(|c| c.supports_tasks());
                if as_task {
                    args.wait = Some(false);
                }
                let answer = self.tools.prove(args, progress, cancelled).await;
                if let (true, Some(id)) = (as_task, answer.value["job"].as_u64())
                    && !answer.is_error
                {
                    let now = crate::jobs::now();
                    let task = Task::new(id.to_string(), TaskStatus::Working, now.clone(), now)
                        .with_poll_interval_ms(TASK_POLL_MS);
                    return Ok(CreateTaskResult::new(task).into());
                }
                answer
            }
            "prover_fill_sorries" => {
                let args: FillArgs = arguments(&name, args)?;
                self.tools.fill_sorries(args, progress, cancelled).await
            }
            "prover_check" => {
                let args: CheckArgs = arguments(&name, args)?;
                self.tools.check(args).await
            }
            "prover_try" => {
                let args: TryArgs = arguments(&name, args)?;
                self.tools.try_tactics(args).await
            }
            "prover_goal" => {
                let args: GoalArgs = arguments(&name, args)?;
                self.tools.goal(args).await
            }
            "prover_plan" => {
                let args: PlanArgs = arguments(&name, args)?;
                self.tools.plan(args, cancelled).await
            }
            "prover_job" => self.tools.job(&arguments(&name, args)?),
            "prover_cancel" => self.tools.cancel(&arguments(&name, args)?),
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool {other:?}"),
                    None,
                ));
            }
        };
        Ok(result(answer).into())
    }
}

/// Progress notifications for a call that sent a progress token: one per expansion of any of
/// its jobs, sent in order from a task of their own (the job's thread never waits on the
/// client). `progress` counts them all, so it only grows when a call runs several jobs.
fn progress_sink(context: &RequestContext<RoleServer>) -> ProgressSink {
    let Some(token) = context.meta.get_progress_token() else {
        return Arc::new(|_, _, _| {});
    };
    let peer = context.peer.clone();
    let (send, mut receive) = tokio::sync::mpsc::unbounded_channel::<(u64, u32, Option<f64>)>();
    tokio::spawn(async move {
        let mut count = 0u32;
        while let Some((job, expansions, best)) = receive.recv().await {
            count += 1;
            let message = match best {
                Some(score) => format!("job {job}: {expansions} expansions, best score {score:.3}"),
                None => format!("job {job}: {expansions} expansions"),
            };
            let param = ProgressNotificationParam::new(token.clone(), f64::from(count))
                .with_message(message);
            if peer.notify_progress(param).await.is_err() {
                break;
            }
        }
    });
    Arc::new(move |job, expansions, best| {
        let _ = send.send((job, expansions, best));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_uri_names_its_answer_trace_or_tree() {
        assert_eq!(job_uri("prover://jobs/7"), Some((7, JobPart::Answer)));
        assert_eq!(job_uri("prover://jobs/7/trace"), Some((7, JobPart::Trace)));
        assert_eq!(job_uri("prover://jobs/7/tree"), Some((7, JobPart::Tree)));
        assert_eq!(job_uri("prover://jobs/7/other"), None);
        assert_eq!(job_uri("prover://jobs/x/tree"), None);
        assert_eq!(job_uri("file:///etc/passwd"), None);
    }
}
