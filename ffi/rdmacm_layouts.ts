// Struct layouts of librdmacm (x86-64, rdma-core rdma_cma.h) and the libc structs its waits use, checked with
// LAYOUTS by tests/host/layouts_test.ts against the installed headers.
/** Struct sizes and field byte offsets of librdmacm (and the libc structs its waits use) on x86-64. */
export const RDMACM_LAYOUTS = {
  rdma_cm_id: { size: 416, verbs: 0, channel: 8, qp: 24, port_num: 348 },
  rdma_event_channel: { size: 4, fd: 0 },
  rdma_cm_event: { size: 80, id: 0, listen_id: 8, event: 16, status: 20, param: 24 },
  rdma_conn_param: {
    size: 24,
    private_data: 0,
    private_data_len: 8,
    responder_resources: 9,
    initiator_depth: 10,
    retry_count: 12,
    rnr_retry_count: 13,
    qp_num: 16,
  },
  pollfd: { size: 8, fd: 0, events: 4, revents: 6 },
} as const;

/** The headers that define them (the probe includes these after verbs.h). */
export const RDMACM_HEADERS = ["rdma/rdma_cma.h", "poll.h"];
