// The rules the cases check: IBTA Vol 1 compliance ids as public kernel sources cite them (rdma_rxe's
// rxe_mw.c, rxe_resp.c), Vol 1 sections where no id is cited publicly, libibverbs man pages, verbs.h.

/** Every rule a case may cite, by id: where it comes from and what it says. */
export const RULES = {
  "C10-72": {
    source: "IBTA Vol 1 C10-72",
    text:
      "the QP used to bind a window, the window and the MR it is bound to must belong to the same PD (a bind " +
      "through a QP of another PD, or to an MR of another PD, fails)",
  },
  "C10-73": {
    source: "IBTA Vol 1 C10-73",
    text: "the MR a window is bound to must have been registered with MW bind access",
  },
  "C10-74": {
    source: "IBTA Vol 1 C10-74",
    text: "a window granting remote write or remote atomic needs local write on the underlying MR",
  },
  "C10-75": {
    source: "IBTA Vol 1 C10-75",
    text:
      "the window's range must lie within the MR's range: neither start before the MR nor end past it (for a " +
      "zero-based window: its length must not exceed the MR from the bound address)",
  },
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
    source: "IBTA Vol 1 C9-88",
    text:
      "a zero-length RDMA READ or WRITE need not carry a valid address or R_Key: the responder does not check it",
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
  "11.6.2.loc-prot": {
    source: "IBTA Vol 1 §11.6.2 Completion Return Status (Local Protection Error)",
    text:
      "a WR whose scatter/gather list does not reference a memory region valid for the operation completes " +
      "with Local Protection Error (IBV_WC_LOC_PROT_ERR)",
  },
  "vol1.lkey-pd": {
    source:
      "IBTA Vol 1 (local access checks: an L_Key is valid only in its region's PD), §11.6.2; ibv_reg_mr(3)",
    text:
      "a memory region is associated with one PD; an SGE whose L_Key names a region of another PD than the " +
      "QP's references no region valid for the WR: it completes with Local Protection Error " +
      "(IBV_WC_LOC_PROT_ERR) and nothing is sent or written",
  },
  "vol1.lkey-bounds": {
    source: "IBTA Vol 1 §11.6.2 Completion Return Status (Local Protection Error vs Local Length Error)",
    text:
      "an SGE must lie within the region of its L_Key; one that runs past the region's end fails with Local " +
      "Protection Error (IBV_WC_LOC_PROT_ERR); Local Length Error is for message lengths (a send longer than the " +
      "receive, a length over the port's maximum), not for an SGE outside its region",
  },
  "vol1.local-write": {
    source: "IBTA Vol 1 §11.6.2 (Local Protection Error) and ibv_reg_mr(3) (IBV_ACCESS_LOCAL_WRITE)",
    text:
      "the device writes incoming data into a receive WQE's buffers (and READ responses into the requester's), " +
      "which needs Local Write on their region: without it the WQE completes with Local Protection Error " +
      "(IBV_WC_LOC_PROT_ERR) and nothing is written",
  },
  "9.9.3.class-b": {
    source: "IBTA Vol 1 §9.9.3 responder errors (Remote Operational Error NAK, §9.7.5.2.x) and §11.6.2",
    text:
      "a responder that cannot carry out a request because of its own receive WQE (an invalid L_Key, a region " +
      "without Local Write) completes that WQE in error (Local Protection Error) and NAKs with Remote " +
      "Operational Error: the requester completes the SEND with IBV_WC_REM_OP_ERR, never with success",
  },
  "11.6.2.mw-bind": {
    source: "IBTA Vol 1 §11.6.2 Completion Return Status (Memory Window Bind Error)",
    text: "a memory window bind that cannot be performed completes with Memory Window Bind Error " +
      "(IBV_WC_MW_BIND_ERR), unless the post itself is refused with an error",
  },
  "9.9.3.class-c": {
    source: "IBTA Vol 1 §9.9.3 responder errors, Class C (§9.7.5.2.x NAK codes; §11.6.2 statuses)",
    text:
      "a request the responder cannot carry out (invalid R_Key, access or range: Remote Access Error NAK; an " +
      "invalid request such as a Send with Invalidate whose R_Key cannot be invalidated: Invalid Request NAK) " +
      "is NAKed, and the requester completes the WR with the matching status (IBV_WC_REM_ACCESS_ERR / " +
      "IBV_WC_REM_INV_REQ_ERR), never with success",
  },
  "10.7.inv-scope": {
    source: "IBTA Vol 1 §10.7 Base Memory Management Extensions (Local Invalidate, Send with Invalidate)",
    text:
      "Local Invalidate and Send with Invalidate operate on type 2 windows and on regions created for fast " +
      "registration (Allocate L_Key); a region registered with Register Memory Region (ibv_reg_mr) cannot be " +
      "invalidated: the operation fails and the region keeps its keys",
  },
  "10.7.inv-pd": {
    source: "IBTA Vol 1 §10.7 Base Memory Management Extensions (invalidation and protection domains)",
    text:
      "an invalidation (Local Invalidate posted on a QP, Send with Invalidate arriving on a QP) applies only to " +
      "a window of that QP's PD; for any other PD it fails and the window stays bound",
  },
  "10.6.7.2.2b": {
    source: "IBTA Vol 1 §10.6.7.2 Type 2B memory windows",
    text:
      "a type 2B window is associated with the QP it was bound on: only that QP may access it remotely or " +
      "invalidate it (Local Invalidate, Send with Invalidate); when that QP is destroyed the window is " +
      "invalidated (free, bindable again)",
  },
  "10.6.7.1.type1-qp": {
    source: "IBTA Vol 1 §10.6.7.1 Type 1 memory windows",
    text: "a type 1 window is associated with a PD, not a QP: any QP of its PD may access it",
  },
  "10.7.zero-based": {
    source: "IBTA Vol 1 §10.7 Base Memory Management Extensions (zero-based virtual addresses)",
    text:
      "a zero-based type 2 window is addressed by offset: remote virtual address 0 is the window's first byte, " +
      "and the window's length bounds the offset",
  },
  "9.4.5.atomic": {
    source: "IBTA Vol 1 §9.4.5 Atomic Operations",
    text:
      "an atomic's remote address must be 8-byte aligned; a misaligned atomic is an invalid request (Invalid " +
      "Request NAK, IBV_WC_REM_INV_REQ_ERR at the requester) and touches no memory",
  },
  "10.3.err-state": {
    source: "IBTA Vol 1 §10.3.1 QP states (Error)",
    text:
      "a QP in the Error state processes no incoming request: nothing it would have granted is accessed and " +
      "the requester's WR does not complete successfully",
  },
  "9.7.retry-cnt": {
    source:
      "IBTA Vol 1 §9.7.6 requester timeouts and retries (Retry Count), and the Modify QP attributes: only the " +
      'RNR Retry Count gives 7 the meaning "retry forever"; ibv_modify_qp(3) retry_cnt / rnr_retry',
    text:
      "the transport retry count (0-7) bounds the retries of a request that gets no response: when it is " +
      "exhausted the WR completes with Transport Retry Counter Exceeded (IBV_WC_RETRY_EXC_ERR), 7 included",
  },
  "11.2.dealloc-pd": {
    source: "IBTA Vol 1 §11.2 Deallocate Protection Domain; ibv_alloc_pd(3) NOTES",
    text: "a PD with resources still associated (MRs, MWs, QPs) cannot be deallocated: the verb fails",
  },
  "man.ibv_bind_mw.lib": {
    source: "libibverbs verbs.h ibv_bind_mw() (inline) and ibv_bind_mw(3)",
    text:
      "ibv_bind_mw returns EINVAL for a window that is not type 1 and for a NULL MR with a non-zero address or " +
      "length, EPERM when the MR and the window belong to different PDs; mr = NULL, addr = 0, length = 0 unbinds",
  },
  "vol1.rkey-reuse": {
    source: "IBTA Vol 1 (R_Key validity after Deregister / Deallocate) and ibv_reg_mr(3)",
    text:
      "after deregistration or deallocation the old R_Key is invalid: a recycled object must not make it " +
      "grant access again (the 8-bit key portion exists so that a recycled index gets a different key)",
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
  "man.ibv_bind_mw.zero-based": {
    source: "ibv_bind_mw(3), IBV_ACCESS_ZERO_BASED",
    text:
      "lists IBV_ACCESS_ZERO_BASED among ibv_bind_mw's access flags (remote_addr is then an offset from the " +
      "window's start) without excepting type 1 windows, the only ones ibv_bind_mw binds: this contradicts " +
      "IBTA o10-36.2.2 (a type 1 window cannot be zero-based), and the case follows IBTA",
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
  "verbs.access-optional": {
    source:
      "libibverbs verbs.h (enum ibv_access_flags, IBV_ACCESS_OPTIONAL_RANGE, ibv_reg_mr_iova2) and ibv_reg_mr(3)",
    text:
      "access is 0 or an OR of the IBV_ACCESS_* flags; only bits of IBV_ACCESS_OPTIONAL_RANGE (20-29) may be " +
      "ignored where unsupported, so a registration with one of them succeeds, and one with any other bit that " +
      "is no flag fails (errno, no MR)",
  },
  "man.ibv_reg_mr.iova": {
    source: "ibv_reg_mr(3) (ibv_reg_mr_iova)",
    text:
      "the caller may specify the virtual base address (iova) of the MR when accessed through an lkey or rkey; " +
      "the offset in the MR is computed as addr + (iova - hca_va), and iova 0 has the same effect as " +
      "IBV_ACCESS_ZERO_BASED",
  },
  "rfc5040.terminate": {
    source:
      "RFC 5040 (RDMAP: RDMAP Error Management, Terminate Message) and RFC 5041 (DDP: tagged buffer errors)",
    text:
      "a Tagged message (RDMA Write, Read Response) or RDMA Read Request whose STag is invalid, out of bounds, of " +
      "another PD or lacks the access right is not carried out: the peer that detects it sends a Terminate " +
      "message naming the layer (DDP or RDMAP), error type and code, and the RDMAP Stream ends: both QPs go to " +
      "Error and their outstanding WRs, receives included, complete flushed (IBV_WC_WR_FLUSH_ERR)",
  },
  "rfc5040.stream-teardown": {
    source: "RFC 5040 (RDMAP Stream Teardown; RDMAP Error Management), RFC 5041 (DDP Stream Teardown) and " +
      "RFC 5044 (MPA over TCP: the stream is the TCP connection)",
    text:
      "an iWARP QP moved to Error tears down its RDMAP Stream: the LLP connection closes, and the peer, whose " +
      "DDP layer responds to the stream torn down by the LLP, goes to Error too and flushes its WRs, once the " +
      "close reaches it (asynchronously: it may still read RTS just after the modify returns)",
  },
  "rfc5040.write-completion": {
    source: "RFC 5040 (RDMAP: Ordering and Completions; RDMAP Error Management)",
    text:
      "an RDMA Write has no response: it completes at the Local Peer once the LLP has taken it, so its success " +
      "says nothing about the Remote Peer's STag check; a Write the Remote Peer refuses is reported by the " +
      "Terminate it sends, so the requester's WR completes successfully, or with the error or flushed when the " +
      "Terminate ended the stream first, and nothing is placed",
  },
  "rfc5040.send-completion": {
    source:
      "RFC 5040 (RDMAP: Ordering and Completions; RDMAP Error Management) and RFC 5041 (DDP: untagged buffers)",
    text:
      "a Send has no response either: it completes at the Local Peer once the LLP has taken it; a Send the Remote " +
      "Peer cannot place (its receive buffer invalid or not locally writable) is reported by the Terminate it " +
      "sends, so the sender's WR completes successfully, or with an error or flushed when the Terminate ended " +
      "the stream first, and nothing is placed",
  },
  "rfc5040.terminate-surfaced": {
    source: "RFC 5040 (RDMAP Error Management: a Terminate reports the error to the Local Peer's ULP) and " +
      "libibverbs enum ibv_wc_status",
    text:
      "the error a Terminate carries is surfaced on the WR it concerns: an RDMA Read Request refused at the Data " +
      "Source for its STag completes with a remote access error (IBV_WC_REM_ACCESS_ERR), not merely flushed",
  },
  "rfc5040.read-sink": {
    source:
      "RFC 5040 (RDMA Read Request: the Data Sink STag; the Read Response is a Tagged message placed at " +
      "it); Linux drivers/infiniband/core/rw.c registers iWARP READ sinks with IB_ACCESS_REMOTE_WRITE; " +
      "ibv_reg_mr(3), ibv_post_send(3) and rdma_post_read(3) do not say which access a sink needs",
    text:
      "an RDMA READ names its sink by an STag the Read Response is placed at as a Tagged message, so the sink " +
      "is exposed to the peer as remote-writable memory; whether an RNIC refuses a sink without remote write is " +
      "the device's (memreg registers iWARP sinks with REMOTE_WRITE: bench/rig.ts readSinkAccess)",
  },
  "rfc5040.send-inv": {
    source: "RFC 5040 (Send with Invalidate: the Invalidate STag field; RDMAP Error Management)",
    text:
      "a Send with Invalidate carries the STag its sender names (ibv_post_send(3): invalidate_rkey); the " +
      "responder invalidates that STag, and one it cannot invalidate (unknown, another PD, not enabled for it) " +
      "is an RDMAP error reported in a Terminate: the receive does not complete successfully and the stream ends",
  },
  "man.ibv_reg_dmabuf_mr": {
    source: "ibv_reg_mr(3) (ibv_reg_dmabuf_mr)",
    text:
      "registers `length` bytes at `offset` of the dma-buf `fd`, reached through lkey/rkey at `iova`; access may " +
      "hold only LOCAL_WRITE, REMOTE_WRITE, REMOTE_READ, REMOTE_ATOMIC and RELAXED_ORDERING: an fd that is no " +
      "dma-buf, a range past the dma-buf's end or another access bit fails (NULL, errno)",
  },
  "man.ibv_alloc_mw.type": {
    source: "ibv_alloc_mw(3) and verbs.h enum ibv_mw_type",
    text: "the window's type is IBV_MW_TYPE_1 or IBV_MW_TYPE_2: any other type fails (NULL, errno)",
  },
  "man.ibv_post_send.bind-mw": {
    source: "ibv_post_send(3) (struct ibv_send_wr bind_mw, opcode table) and ibv_bind_mw(3)",
    text:
      "an IBV_WR_BIND_MW work request binds a type 2 window (bind_mw.mw: 'Memory window (MW) of type 2 to " +
      "bind'; type 1 windows are bound by ibv_bind_mw) and is valid on UC, RC and XRC_SEND QPs only (no UD " +
      "entry in the opcode table; 'The QP Transport Service Type must be either UC, RC or XRC_SEND for bind " +
      "operations'); a bind that cannot be done fails, when posted or by its completion",
  },
  "man.ibv_bind_mw.access": {
    source: "ibv_bind_mw(3) and ibv_post_send(3) (mw_access_flags)",
    text:
      "a window's mw_access_flags is 0 or an OR of REMOTE_WRITE, REMOTE_READ, REMOTE_ATOMIC and ZERO_BASED: a " +
      "bind with any other bit fails and holds nothing (the MR deregisters, the window deallocates)",
  },
  "man.ibv_advise_mr.prefetch": {
    source: "ibv_advise_mr(3) (IBV_ADVISE_MR_ADVICE_PREFETCH, _PREFETCH_WRITE, _PREFETCH_NO_FAULT; " +
      "IBV_ADVISE_MR_FLAG_FLUSH)",
    text:
      "ibv_advise_mr prefetches a range of an on-demand paging MR (read-only, writable, or without faulting) and " +
      "returns 0 on success (an application may prefetch any range within an ODP MR with PREFETCH or " +
      "PREFETCH_WRITE); with IBV_ADVISE_MR_FLAG_FLUSH only once the translations are in the HCA; the " +
      "operation is best effort, so the MR is then accessed like any other: what the process would read is what " +
      "the peer reads, and a WRITE lands",
  },
  "man.ibv_advise_mr.errors": {
    source: "ibv_advise_mr(3) RETURN VALUE and the sg_list argument",
    text:
      "EFAULT when the requested range is out of the MR's bounds (or an lkey is invalid or has wrong write " +
      "access); EPERM when the advice is PREFETCH_WRITE and the MR is not writable; every lkey of a PREFETCH " +
      "must be an ODP MR's (IBV_ACCESS_ON_DEMAND): a call that breaks this fails",
  },
  "man.ibv_bind_mw.order": {
    source: "ibv_bind_mw(3) NOTES (QP ordering rules)",
    text:
      "a bind is only posted when the verb returns, but a send after a bind request on the same QP is always " +
      "ordered after it: the R_Key may be sent to the peer that way before the bind's completion is read, and " +
      "the peer may use it as soon as the send arrives",
  },
  "vol1.fence": {
    source:
      "IBTA Vol 1 (send queue ordering: the Fence indicator of a WR) and ibv_post_send(3) IBV_SEND_FENCE (RC QPs)",
    text:
      "a WR posted with the fence indicator is not begun before the RDMA READs and atomics posted before it on " +
      "the same send queue have completed; WRs on one send queue are otherwise begun in the order posted, so an " +
      "invalidation posted before a request is in effect when that request reaches the responder",
  },
  "vol1.key-unique": {
    source: "IBTA Vol 1 (an L_Key or R_Key names one memory region or window of its HCA while valid) and " +
      "ibv_reg_mr(3) (lkey, rkey of the MR)",
    text:
      "while a region or window is registered, its keys name it alone: no region or window made later (an index " +
      "recycled after many registrations included) may get a key equal to a live one's, and a live key keeps " +
      "granting what it granted",
  },
} as const satisfies Record<string, { source: string; text: string }>;

/** The id of a rule in RULES. */
export type RuleId = keyof typeof RULES;
