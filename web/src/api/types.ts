// Names for the generated OpenAPI schema types (src/api/schema.d.ts, `npm run gen:api`).
import type { components } from "./schema";

type S = components["schemas"];

export type WorkspaceInfo = S["WorkspacePublic"];
export type Project = S["ProjectPublic"];
export type ProjectDetail = S["ProjectDetail"];
export type Pipeline = S["PipelinePublic"];
export type Lineage = S["LineagePublic"];
export type PipelineGraph = S["PipelineGraph"];
export type CanvasNode = S["CanvasNode"];
export type GraphEdge = S["EdgePublic"];
export type Group = S["GroupPublic"];
export type NodeStatus = S["NodeStatusPublic"];
export type NodeDetail = S["NodeDetail"];
export type NodeRun = S["NodeRunPublic"];
export type PastEnvironment = S["PastEnvironmentPublic"];
export type Environment = S["EnvironmentPublic"];
export type CondaEnvironment = S["CondaEnvironmentPublic"];
export type RemovalPreview = S["RemovalPreviewPublic"];
export type Plan = S["PlanPublic"];
export type RunSummary = S["RunSummaryPublic"];
export type RunHistory = S["RunHistoryPublic"];
export type RunCreate = S["RunCreate"];
export type RunLaunched = S["RunLaunched"];
export type Job = S["JobPublic"];
export type ErrorBody = S["ErrorPublic"];
export type FileEntry = S["FilePublic"];
export type CodeText = S["CodeTextPublic"];
export type IncludeUpdated = S["IncludeUpdatePublic"];
export type Ticket = S["TicketPublic"];
export type NodeState = S["CanvasNode"]["state"];

export type WorkspaceEvent = S["WorkspaceEvent"];

export type LogEvent = S["LogChunkEvent"] | S["LogEndEvent"];
