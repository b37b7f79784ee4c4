// libibverbs enum values (verbs.h), named as in C so that reports and cases read like the man pages.
/** enum ibv_access_flags: access rights of an MR, MW or QP. */
export const Access = {
  LOCAL_WRITE: 1,
  REMOTE_WRITE: 1 << 1,
  REMOTE_READ: 1 << 2,
  REMOTE_ATOMIC: 1 << 3,
  MW_BIND: 1 << 4,
  ZERO_BASED: 1 << 5,
  ON_DEMAND: 1 << 6,
  HUGETLB: 1 << 7,
  RELAXED_ORDERING: 1 << 20,
} as const;

/** enum ibv_mw_type. */
export const MwType = { TYPE_1: 1, TYPE_2: 2 } as const;

/** enum ibv_wr_opcode: what a send work request does. */
export const WrOpcode = {
  RDMA_WRITE: 0,
  RDMA_WRITE_WITH_IMM: 1,
  SEND: 2,
  SEND_WITH_IMM: 3,
  RDMA_READ: 4,
  ATOMIC_CMP_AND_SWP: 5,
  ATOMIC_FETCH_AND_ADD: 6,
  LOCAL_INV: 7,
  BIND_MW: 8,
  SEND_WITH_INV: 9,
} as const;

/** enum ibv_send_flags. */
export const SendFlags = { FENCE: 1, SIGNALED: 2, SOLICITED: 4, INLINE: 8 } as const;

/** enum ibv_wc_opcode, value → name. */
export const WcOpcode: Record<number, string> = {
  0: "SEND",
  1: "RDMA_WRITE",
  2: "RDMA_READ",
  3: "COMP_SWAP",
  4: "FETCH_ADD",
  5: "BIND_MW",
  6: "LOCAL_INV",
  128: "RECV",
  129: "RECV_RDMA_WITH_IMM",
};

/** enum ibv_wc_status names, indexed by value (without the IBV_WC_ prefix). */
export const WC_STATUS = [
  "SUCCESS",
  "LOC_LEN_ERR",
  "LOC_QP_OP_ERR",
  "LOC_EEC_OP_ERR",
  "LOC_PROT_ERR",
  "WR_FLUSH_ERR",
  "MW_BIND_ERR",
  "BAD_RESP_ERR",
  "LOC_ACCESS_ERR",
  "REM_INV_REQ_ERR",
  "REM_ACCESS_ERR",
  "REM_OP_ERR",
  "RETRY_EXC_ERR",
  "RNR_RETRY_EXC_ERR",
  "LOC_RDD_VIOL_ERR",
  "REM_INV_RD_REQ_ERR",
  "REM_ABORT_ERR",
  "INV_EECN_ERR",
  "INV_EEC_STATE_ERR",
  "FATAL_ERR",
  "RESP_TIMEOUT_ERR",
  "GENERAL_ERR",
  "TM_ERR",
  "TM_RNDV_INCOMPLETE",
] as const;

/** The IBV_WC_* name of a completion status (IBV_WC_STATUS_<n> for an unknown one). */
export function wcStatusName(s: number): string {
  return `IBV_WC_${WC_STATUS[s] ?? `STATUS_${s}`}`;
}

/** enum ibv_wc_flags. */
export const WcFlags = { GRH: 1, WITH_IMM: 2, IP_CSUM_OK: 4, WITH_INV: 8 } as const;

/** enum ibv_qp_state. */
export const QpState = { RESET: 0, INIT: 1, RTR: 2, RTS: 3, SQD: 4, SQE: 5, ERR: 6 } as const;
/** enum ibv_qp_state names, indexed by value. */
export const QP_STATE_NAMES = ["RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"];

/** enum ibv_qp_attr_mask: which ibv_qp_attr fields a modify or query uses. */
export const QpAttrMask = {
  STATE: 1,
  CUR_STATE: 1 << 1,
  EN_SQD_ASYNC_NOTIFY: 1 << 2,
  ACCESS_FLAGS: 1 << 3,
  PKEY_INDEX: 1 << 4,
  PORT: 1 << 5,
  QKEY: 1 << 6,
  AV: 1 << 7,
  PATH_MTU: 1 << 8,
  TIMEOUT: 1 << 9,
  RETRY_CNT: 1 << 10,
  RNR_RETRY: 1 << 11,
  RQ_PSN: 1 << 12,
  MAX_QP_RD_ATOMIC: 1 << 13,
  ALT_PATH: 1 << 14,
  MIN_RNR_TIMER: 1 << 15,
  SQ_PSN: 1 << 16,
  MAX_DEST_RD_ATOMIC: 1 << 17,
  PATH_MIG_STATE: 1 << 18,
  CAP: 1 << 19,
  DEST_QPN: 1 << 20,
} as const;

/** enum ibv_qp_type (the connected and datagram types memreg uses). */
export const QpType = { RC: 2, UC: 3, UD: 4 } as const;

/** enum ibv_mtu → bytes (index 1 = 256 … 5 = 4096). */
export const MTU_BYTES = [0, 256, 512, 1024, 2048, 4096];

/** enum ibv_port_state names, indexed by value. */
export const PORT_STATES = ["NOP", "DOWN", "INIT", "ARMED", "ACTIVE", "ACTIVE_DEFER"];
/** IBV_LINK_LAYER_* values of a port. */
export const LinkLayer = { UNSPECIFIED: 0, INFINIBAND: 1, ETHERNET: 2 } as const;
/** enum ibv_transport_type. */
export const TransportType = { IB: 0, IWARP: 1, USNIC: 2, USNIC_UDP: 3, UNSPECIFIED: 4 } as const;

/** enum ibv_transport_type, value → the name ibv_devinfo prints. */
export const TRANSPORT_NAMES: Record<number, string> = {
  0: "InfiniBand",
  1: "iWARP",
  2: "usNIC",
  3: "usNIC UDP",
  // IBV_TRANSPORT_UNSPECIFIED: EFA (its kernel driver registers RDMA_NODE_UNSPECIFIED).
  4: "unspecified",
};

/** A transport's name as ibv_devinfo prints it (the number where the enum has no name for it). */
export const transportName = (t: number): string => TRANSPORT_NAMES[t] ?? String(t);

/**
 * Whether a transport has reliable connected QPs (IBV_QPT_RC): the IBTA transport (InfiniBand, RoCE; IBTA Vol 1
 * ch. 9) and iWARP (RDMAP over a reliable stream, RFC 5040) do. usNIC is UD only, and the unspecified transport
 * (EFA) has UD and SRD only (Linux efa_qp_validate_attr refuses any other type with EOPNOTSUPP).
 */
export function transportHasRc(transport: number): boolean {
  return transport === TransportType.IB || transport === TransportType.IWARP;
}
/** enum ibv_gid_type, value → the name ibv_devinfo prints. */
export const GID_TYPES: Record<number, string> = { 0: "IB", 1: "RoCE v1", 2: "RoCE v2" };
/** enum ibv_gid_type. */
export const GidType = { IB: 0, ROCE_V1: 1, ROCE_V2: 2 } as const;

/** enum ibv_device_cap_flags, bit → name. */
export const DEVICE_CAP_FLAGS: [number, string][] = [
  [0, "RESIZE_MAX_WR"],
  [1, "BAD_PKEY_CNTR"],
  [2, "BAD_QKEY_CNTR"],
  [3, "RAW_MULTI"],
  [4, "AUTO_PATH_MIG"],
  [5, "CHANGE_PHY_PORT"],
  [6, "UD_AV_PORT_ENFORCE"],
  [7, "CURR_QP_STATE_MOD"],
  [8, "SHUTDOWN_PORT"],
  [9, "INIT_TYPE"],
  [10, "PORT_ACTIVE_EVENT"],
  [11, "SYS_IMAGE_GUID"],
  [12, "RC_RNR_NAK_GEN"],
  [13, "SRQ_RESIZE"],
  [14, "N_NOTIFY_CQ"],
  [17, "MEM_WINDOW"],
  [18, "UD_IP_CSUM"],
  [20, "XRC"],
  [21, "MEM_MGT_EXTENSIONS"],
  [23, "MEM_WINDOW_TYPE_2A"],
  [24, "MEM_WINDOW_TYPE_2B"],
  [25, "RC_IP_CSUM"],
  [26, "RAW_IP_CSUM"],
  [29, "MANAGED_FLOW_STEERING"],
];

/** The ibv_device_cap_flags bits memreg checks. */
export const DeviceCap = {
  MEM_WINDOW: 1 << 17,
  MEM_MGT_EXTENSIONS: 1 << 21,
  MEM_WINDOW_TYPE_2A: 1 << 23,
  MEM_WINDOW_TYPE_2B: 1 << 24,
} as const;

/** enum ibv_odp_general_caps, bit → name. */
export const ODP_GENERAL_CAPS: [number, string][] = [[0, "SUPPORT"], [1, "SUPPORT_IMPLICIT"]];
/** enum ibv_odp_transport_cap_bits, bit → name. */
export const ODP_TRANSPORT_CAPS: [number, string][] = [
  [0, "SEND"],
  [1, "RECV"],
  [2, "WRITE"],
  [3, "READ"],
  [4, "ATOMIC"],
  [5, "SRQ_RECV"],
];
/** ODP capability bits: general (SUPPORT, SUPPORT_IMPLICIT) and per transport (SEND … ATOMIC). */
export const OdpCaps = {
  SUPPORT: 1,
  SUPPORT_IMPLICIT: 2,
  SEND: 1,
  RECV: 2,
  WRITE: 4,
  READ: 8,
  ATOMIC: 16,
} as const;

/** The names of the bits set in `value`, per a bit → name table. */
export function decodeFlags(value: number | bigint, table: [number, string][]): string[] {
  const v = BigInt(value);
  return table.filter(([bit]) => (v >> BigInt(bit)) & 1n).map(([, name]) => name);
}

/** enum ib_uverbs_advise_mr_advice (ibv_advise_mr). */
export const AdviseMr = { PREFETCH: 0, PREFETCH_WRITE: 1, PREFETCH_NO_FAULT: 2 } as const;
/** IBV_ADVISE_MR_FLAG_FLUSH: ibv_advise_mr returns once the prefetch is done. */
export const ADVISE_MR_FLAG_FLUSH = 1;

/** enum ibv_rereg_mr_flags: what ibv_rereg_mr changes. */
export const ReregFlags = { CHANGE_TRANSLATION: 1, CHANGE_PD: 2, CHANGE_ACCESS: 4 } as const;
