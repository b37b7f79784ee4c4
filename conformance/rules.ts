// The rules the cases check, as listed in the project's invalidation reference (IBTA Vol 1 compliance
// statements as cited in public kernel sources, the Vol 1 remote-access paragraph, the libibverbs man pages).
// A case cites one id; its report carries the source with it.

export const RULES = {
  "C10-72": {
    source: "IBTA Vol 1 C10-72",
    text: "the QP used to bind a window and the window must belong to the same PD",
  },
  "C10-73": {
    source: "IBTA Vol 1 C10-73",
    text: "the MR a window is bound to must have been registered with MW bind access",
  },
  "C10-74": {
    source: "IBTA Vol 1 C10-74",
    text: "a window granting remote write or remote atomic needs local write on the underlying MR",
  },
  "C10-75": { source: "IBTA Vol 1 C10-75", text: "the window's range must lie within the MR's range" },
  "o10-36.2.2": { source: "IBTA Vol 1 o10-36.2.2", text: "a type 1 window cannot be zero-based" },
  "o10-37.2.26": {
    source: "IBTA Vol 1 o10-37.2.26",
    text: "a type 1 window cannot be invalidated by Local Invalidate or Send with Invalidate",
  },
  "o10-37.2.30": {
    source: "IBTA Vol 1 o10-37.2.30",
    text: "a type 2 window can be bound only from the free (invalid) state",
  },
  "o10-37.2.40": {
    source: "IBTA Vol 1 o10-37.2.40",
    text: "binding a type 2 window with zero length (or without an MR) is illegal",
  },
  "10.6.7.2.6": {
    source: "IBTA Vol 1 10.6.7.2.6",
    text: "an MR that has windows bound to it cannot be deregistered",
  },
  "vol1.rkey-invalid": {
    source: "IBTA Vol 1 (remote access checks)",
    text:
      "an RDMA access with an invalid R_Key is a remote access error: IBV_WC_REM_ACCESS_ERR at the requester",
  },
  "vol1.rkey-bounds": {
    source: "IBTA Vol 1 (remote access checks)",
    text: "an RDMA access outside the region or window of its R_Key is a remote access error",
  },
  "vol1.rkey-access": {
    source: "IBTA Vol 1 (remote access checks)",
    text: "an RDMA access lacking the access right on its R_Key is a remote access error",
  },
  "vol1.rkey-pd": {
    source: "IBTA Vol 1 (remote access checks)",
    text: "an R_Key from another PD than the responder QP's is a remote access error",
  },
  "vol1.zero-length": {
    source: "IBTA Vol 1 (remote access checks)",
    text: "a zero-length RDMA operation does not validate the R_Key",
  },
  "vol1.error-flush": {
    source: "IBTA Vol 1 (QP error state)",
    text:
      "after an error completion the QP is in the error state; outstanding and later WRs complete with IBV_WC_WR_FLUSH_ERR",
  },
  "vol1.invalidate": {
    source: "IBTA Vol 1 (Local Invalidate / Send with Invalidate) and ibv_post_send(3)",
    text:
      "an invalidated R_Key no longer grants access; Send with Invalidate reports the R_Key at the responder",
  },
  "man.ibv_reg_mr": {
    source: "ibv_reg_mr(3)",
    text:
      "REMOTE_WRITE or REMOTE_ATOMIC need LOCAL_WRITE; after ibv_dereg_mr the keys are gone; lkey validates local access",
  },
  "man.ibv_reg_mr.odp": {
    source: "ibv_reg_mr(3), IBV_ACCESS_ON_DEMAND",
    text:
      "an on-demand paging MR is used like any other MR: the device resolves its pages when they are accessed",
  },
  "man.ibv_dereg_mr": {
    source: "ibv_reg_mr(3) NOTES",
    text: "ibv_dereg_mr fails if any memory window is still bound to this MR",
  },
  "man.ibv_rereg_mr": {
    source: "ibv_rereg_mr(3)",
    text: "rereg changes translation, PD or access of an MR (EOPNOTSUPP where the device cannot)",
  },
  "man.ibv_bind_mw": {
    source: "ibv_bind_mw(3)",
    text: "ibv_bind_mw binds type 1 windows; zero length unbinds; the rkey changes on each bind",
  },
  "man.ibv_alloc_mw": { source: "ibv_alloc_mw(3)", text: "ibv_dealloc_mw unbinds the window, then frees it" },
  "man.ibv_inc_rkey": {
    source: "ibv_inc_rkey(3)",
    text: "ibv_inc_rkey gives the next key for a type 2 bind",
  },
  "man.ibv_post_send": {
    source: "ibv_post_send(3)",
    text: "IBV_WR_LOCAL_INV / IBV_WR_SEND_WITH_INV invalidate type 2 windows; IBV_WR_BIND_MW binds them",
  },
  "man.ibv_advise_mr": {
    source: "ibv_reg_mr(3) / ibv_advise_mr(3) (ODP)",
    text:
      "an on-demand-paging MR follows the process's page tables: the device sees what the process would see",
  },
} as const satisfies Record<string, { source: string; text: string }>;

export type RuleId = keyof typeof RULES;
