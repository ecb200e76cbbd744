// A pipeline's tag by id for components that are many (the cards that name the pipeline a
// twin reference comes from): ONE query observer of the pipelines list shared by all of them,
// not one per card (a card only adds a listener to it).
import { QueryObserver } from "@tanstack/react-query";
import { useSyncExternalStore } from "react";
import { pipelinesQuery, queryClient } from "../api/queries";
import type { Pipeline } from "../api/types";
import { pipelineTag } from "./app";

const watch = () => new QueryObserver(queryClient, pipelinesQuery());
let shared: ReturnType<typeof watch> | null = null;

function observer(): ReturnType<typeof watch> {
  shared ??= watch();
  return shared;
}

const subscribe = (listener: () => void) => observer().subscribe(listener);
const snapshot = (): Pipeline[] | undefined => observer().getCurrentResult().data;

/** The tag of the pipeline ``pipelineId`` (its id until the list is loaded). */
export function usePipelineTag(pipelineId: string | null | undefined): string {
  const pipelines = useSyncExternalStore(subscribe, snapshot);
  return pipelineTag(pipelines ?? [], pipelineId);
}
