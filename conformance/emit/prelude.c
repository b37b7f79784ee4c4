/*
 * memreg conformance fixture in C: the same loopback pair (qpA requester -> qpB responder, optionally a second
 * pair qpC -> qpD), the same patterned buffers and the same steps as memreg's TypeScript fixture, printing the
 * same facts ("label=value", one per line). A program emitted by `memreg ... --emit-c` is this file followed by
 * a main() that replays one case or fuzz sequence. Needs libibverbs: cc prog.c -o prog -libverbs. On an iWARP
 * device the QPs connect through rdma_cm, as memreg's do (an iWARP QP reaches RTS only on an LLP stream the
 * iWARP CM set up: RFC 5044 §7, rdma_cm(7)), with librdmacm loaded at run time (its headers are needed to
 * build the program: librdmacm-dev; no -lrdmacm).
 * Environment: MEMREG_DEVICE (default: the first device), MEMREG_PORT (1), MEMREG_GID (default: RoCE v2,
 * IPv4-mapped), MEMREG_STEP_DEADLINE_MS (5000).
 */
#define _GNU_SOURCE
/* A program uses the fixture functions its replay needs; the rest stay unused. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <errno.h>
#include <inttypes.h>
#include <infiniband/verbs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<rdma/rdma_cma.h>)
#include <rdma/rdma_cma.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <dlfcn.h>
#define MEMREG_CM 1
/* librdmacm is loaded at run time on an iWARP device only (as memreg loads it on first use): a program builds
 * with -libverbs alone and runs on RoCE and IB without librdmacm. */
static struct {
	__typeof__(rdma_create_event_channel) *create_event_channel;
	__typeof__(rdma_destroy_event_channel) *destroy_event_channel;
	__typeof__(rdma_create_id) *create_id;
	__typeof__(rdma_destroy_id) *destroy_id;
	__typeof__(rdma_bind_addr) *bind_addr;
	__typeof__(rdma_listen) *listen;
	__typeof__(rdma_resolve_addr) *resolve_addr;
	__typeof__(rdma_resolve_route) *resolve_route;
	__typeof__(rdma_connect) *connect;
	__typeof__(rdma_accept) *accept;
	__typeof__(rdma_get_cm_event) *get_cm_event;
	__typeof__(rdma_ack_cm_event) *ack_cm_event;
	__typeof__(rdma_init_qp_attr) *init_qp_attr;
	__typeof__(rdma_get_src_port) *get_src_port;
	__typeof__(rdma_event_str) *event_str;
} RC;
#endif

/* Name tables, generated from memreg's own (errno names, completion statuses, opcodes, wc flags). */
MEMREG_TABLES

#define MAXO 256
#define NWC 64

struct buf {
	uint8_t *p;
	size_t len;
	int mapped;
	uint32_t seed;
	uint8_t *orig, *intended, *hist;
};

struct wc_list {
	struct ibv_wc wc[512];
	int n;
};

static struct {
	struct ibv_context *ctx;
	struct ibv_pd *pdA, *pdB;
	struct ibv_cq *cqA, *cqB;
	struct ibv_qp *qp[4]; /* A B C D */
	struct ibv_mr *srcMr, *recvMr;
	struct buf *b[MAXO];
	int nb;
	struct ibv_mr *mr[MAXO];
	struct ibv_mw *mw[MAXO];
	struct ibv_pd *pd[MAXO];
	int port, gid_index, mtu, max_rd_atomic;
	union ibv_gid gid;
	uint16_t lid;
	uint64_t next_wr;
	struct wc_list stray[2]; /* cqA, cqB */
	uint32_t name_key[MAXO];
	const char *name_val[MAXO];
	int nnames;
	double step_deadline_ms;
	int have_pair;
	uint32_t peer_qpn[4]; /* qp_num of A B C D, kept after a destroy */
	int iwarp;	      /* the port is iWARP: qpA-qpB and qpC-qpD connect through rdma_cm */
} F;

static uint32_t K[4096];

static void die(const char *what) {
	fprintf(stderr, "memreg-c: %s: %s\n", what, strerror(errno));
	exit(2);
}

static const char *errno_name(int e) {
	static char buf[16];
	for (size_t i = 0; i < sizeof(ERRNO_NAMES) / sizeof(ERRNO_NAMES[0]); i++)
		if (ERRNO_NAMES[i].n == e) return ERRNO_NAMES[i].s;
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

static const char *status_name(int s) {
	static char buf[48];
	if (s >= 0 && s < (int)(sizeof(WC_STATUS) / sizeof(WC_STATUS[0]))) {
		snprintf(buf, sizeof buf, "IBV_WC_%s", WC_STATUS[s]);
	} else {
		snprintf(buf, sizeof buf, "IBV_WC_STATUS_%d", s);
	}
	return buf;
}

static void fact(const char *label, const char *suffix, const char *value) {
	printf("%s%s=%s\n", label, suffix, value);
	fflush(stdout);
}

static void fact_int(const char *label, const char *suffix, int value) {
	char v[32];
	snprintf(v, sizeof v, "%d", value);
	fact(label, suffix, v);
}

static double now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- buffers: memreg's xorshift pattern, the intended image, verdicts ---- */

static void pattern(uint8_t *p, size_t len, uint32_t seed) {
	uint32_t x = (uint32_t)((uint64_t)seed * 2654435761u);
	if (!x) x = 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x & 0xff;
	}
}

static struct buf *buf_new(size_t len) {
	struct buf *b = calloc(1, sizeof *b);
	b->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->p == MAP_FAILED) die("mmap");
	b->len = len;
	b->mapped = 1;
	b->seed = 100 + F.nb;
	pattern(b->p, len, b->seed);
	b->orig = malloc(len);
	b->intended = malloc(len);
	memcpy(b->orig, b->p, len);
	memcpy(b->intended, b->p, len);
	F.b[F.nb++] = b;
	return b;
}

static const char *verdict(struct buf *b) {
	static char out[32];
	if (!b->mapped) return "unmapped";
	if (!memcmp(b->p, b->orig, b->len)) return "unchanged";
	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] != b->intended[i]) {
			snprintf(out, sizeof out, "other@%zu", i);
			return out;
		}
	}
	return "written";
}

static const char *read_verdict(struct buf *landing, struct buf *t, size_t off, size_t len) {
	uint8_t *got = landing->p;
	if (!memcmp(got, t->intended + off, len)) return "current";
	if (t->hist && !memcmp(got, t->hist + off, len)) return "stale";
	if (!memcmp(got, landing->orig, len)) return "unchanged";
	for (size_t i = 0; i < len; i++)
		if (got[i]) return "other";
	return "zero";
}

/* ---- device, QPs ---- */

static int default_gid_index(void) {
	struct ibv_port_attr pa;
	if (ibv_query_port(F.ctx, F.port, &pa)) die("ibv_query_port");
	if (pa.link_layer != IBV_LINK_LAYER_ETHERNET) return -1;
	int first = -1, v2 = -1, mapped = -1;
	for (int i = 0; i < pa.gid_tbl_len; i++) {
		struct ibv_gid_entry e;
		if (ibv_query_gid_ex(F.ctx, F.port, i, &e, 0)) continue;
		int zero = 1;
		for (int j = 0; j < 16; j++) zero &= e.gid.raw[j] == 0;
		if (zero) continue;
		if (first < 0) first = i;
		if (e.gid_type != IBV_GID_TYPE_ROCE_V2) continue;
		if (v2 < 0) v2 = i;
		int m = e.gid.raw[10] == 0xff && e.gid.raw[11] == 0xff;
		for (int j = 0; j < 10; j++) m &= e.gid.raw[j] == 0;
		if (m && mapped < 0) mapped = i;
	}
	return mapped >= 0 ? mapped : v2 >= 0 ? v2 : first >= 0 ? first : 0;
}

static struct ibv_qp *qp_new(struct ibv_pd *pd, struct ibv_cq *cq) {
	struct ibv_qp_init_attr a = {0};
	a.send_cq = a.recv_cq = cq;
	a.cap.max_send_wr = a.cap.max_recv_wr = 256;
	a.cap.max_send_sge = a.cap.max_recv_sge = 1;
	a.qp_type = IBV_QPT_RC;
	struct ibv_qp *qp = ibv_create_qp(pd, &a);
	if (!qp) die("ibv_create_qp");
	return qp;
}

/* memreg's FIXTURE_PATH: 6 transport retries (rxe treats 7 as "retry forever", IBTA only the RNR count). */
#define FX_RETRY_CNT 6
static int fx_retry_cnt = FX_RETRY_CNT;

static void qp_connect(struct ibv_qp *qp, uint32_t remote, uint32_t rq_psn, uint32_t sq_psn) {
	struct ibv_qp_attr a = {0};
	a.qp_state = IBV_QPS_INIT;
	a.port_num = F.port;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		die("RESET->INIT");
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = F.mtu;
	a.dest_qp_num = remote;
	a.rq_psn = rq_psn;
	a.max_dest_rd_atomic = F.max_rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.dlid = F.lid;
	a.ah_attr.port_num = F.port;
	if (F.gid_index >= 0) {
		a.ah_attr.is_global = 1;
		a.ah_attr.grh.dgid = F.gid;
		a.ah_attr.grh.sgid_index = F.gid_index;
		a.ah_attr.grh.hop_limit = 64;
	}
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				      IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("INIT->RTR");
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = fx_retry_cnt;
	a.rnr_retry = 3;
	a.sq_psn = sq_psn;
	a.max_rd_atomic = F.max_rd_atomic;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				      IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC))
		die("RTR->RTS");
}

static void qp_to(struct ibv_qp *qp, enum ibv_qp_state s) {
	struct ibv_qp_attr a = {0};
	a.qp_state = s;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE)) die("ibv_modify_qp");
}

/* ---- iWARP: the loopback's connections through rdma_cm (as memreg's ffi/rdmacm.ts cmLoopback) ---- */

#ifdef MEMREG_CM
/* Per connection (0: qpA-qpB, 1: qpC-qpD): the two event channels, the listener, the active and passive ids. */
static struct {
	struct rdma_event_channel *ch[2];
	struct rdma_cm_id *listen, *active, *passive;
} CM[2];

#define CM_TIMEOUT_MS 15000

/* The IPv4 address of the port's netdev: iWARP's GID 0 is the netdev's MAC address (no GID table of IPs). */
static void cm_addr(struct sockaddr_in *sa) {
	union ibv_gid g;
	struct ifaddrs *all, *i;
	char name[IF_NAMESIZE + 1] = "";
	if (ibv_query_gid(F.ctx, F.port, 0, &g)) die("ibv_query_gid");
	if (getifaddrs(&all)) die("getifaddrs");
	for (i = all; i && !*name; i = i->ifa_next) {
		struct sockaddr_ll *ll = (struct sockaddr_ll *)i->ifa_addr;
		if (ll && ll->sll_family == AF_PACKET && ll->sll_halen == 6 && !memcmp(ll->sll_addr, g.raw, 6))
			snprintf(name, sizeof name, "%s", i->ifa_name);
	}
	for (i = all; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, name)) break;
	if (!i) {
		fprintf(stderr, "memreg-c: %s port %d is iWARP but its netdev has no IPv4 address\n",
			ibv_get_device_name(F.ctx->device), F.port);
		exit(2);
	}
	*sa = *(struct sockaddr_in *)i->ifa_addr;
	sa->sin_port = 0;
	freeifaddrs(all);
}

/* The next event on ch within CM_TIMEOUT_MS; it must be `want`. Returns its id (a new one for a request). */
static struct rdma_cm_id *cm_wait(struct rdma_event_channel *ch, enum rdma_cm_event_type want, const char *what) {
	struct pollfd p = {.fd = ch->fd, .events = POLLIN};
	int n = poll(&p, 1, CM_TIMEOUT_MS);
	if (n < 0) die("poll");
	if (n == 0) {
		fprintf(stderr, "memreg-c: rdma_cm: %s: no event within %d ms\n", what, CM_TIMEOUT_MS);
		exit(2);
	}
	struct rdma_cm_event *ev;
	if (RC.get_cm_event(ch, &ev)) die("rdma_get_cm_event");
	enum rdma_cm_event_type got = ev->event;
	int status = ev->status;
	struct rdma_cm_id *id = ev->id;
	RC.ack_cm_event(ev);
	if (got != want) {
		fprintf(stderr, "memreg-c: rdma_cm: %s: %s (status %d), expected %s\n", what, RC.event_str(got),
			status, RC.event_str(want));
		exit(2);
	}
	return id;
}

/* qp to `state` with the attributes rdma_cm computed; iWARP's RTS is the CM's to make (an empty mask). */
static void cm_modify(struct rdma_cm_id *id, struct ibv_qp *qp, enum ibv_qp_state state) {
	struct ibv_qp_attr a = {.qp_state = state};
	int mask;
	if (RC.init_qp_attr(id, &a, &mask)) die("rdma_init_qp_attr");
	if (!mask) return;
	if (state == IBV_QPS_INIT)
		a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	if (ibv_modify_qp(qp, &a, mask)) die("ibv_modify_qp (rdma_cm)");
}

/* The connection's ids, then its channels (after its QPs: destroying an id ends the connection). */
static void cm_drop(int k) {
	struct rdma_cm_id *ids[] = {CM[k].passive, CM[k].active, CM[k].listen};
	for (int i = 0; i < 3; i++)
		if (ids[i]) RC.destroy_id(ids[i]);
	for (int i = 0; i < 2; i++)
		if (CM[k].ch[i]) RC.destroy_event_channel(CM[k].ch[i]);
	memset(&CM[k], 0, sizeof CM[k]);
}

/* Connection k: new QPs F.qp[2k] (pdA, cqA; active) and F.qp[2k+1] (pdB, cqB; passive) on a new rdma_cm
 * connection to a listener on the port's address; the old QPs and connection go first. An iWARP QP in ERR has
 * lost its stream and does not return to RTS (RFC 5040 §6.10), so a recover makes new ones, as memreg does. */
static void cm_pair(int k, struct ibv_pd *pdA, struct ibv_cq *cqA, struct ibv_pd *pdB, struct ibv_cq *cqB) {
	struct ibv_qp **a = &F.qp[2 * k], **b = &F.qp[2 * k + 1];
	if (*b) ibv_destroy_qp(*b);
	if (*a) ibv_destroy_qp(*a);
	*a = *b = NULL;
	cm_drop(k);
	struct sockaddr_in sa;
	cm_addr(&sa);
	for (int i = 0; i < 2; i++)
		if (!(CM[k].ch[i] = RC.create_event_channel())) die("rdma_create_event_channel");
	if (RC.create_id(CM[k].ch[1], &CM[k].listen, NULL, RDMA_PS_TCP)) die("rdma_create_id");
	if (RC.bind_addr(CM[k].listen, (struct sockaddr *)&sa)) die("rdma_bind_addr");
	if (RC.listen(CM[k].listen, 1)) die("rdma_listen");
	sa.sin_port = RC.get_src_port(CM[k].listen);
	if (RC.create_id(CM[k].ch[0], &CM[k].active, NULL, RDMA_PS_TCP)) die("rdma_create_id");
	if (RC.resolve_addr(CM[k].active, NULL, (struct sockaddr *)&sa, CM_TIMEOUT_MS)) die("rdma_resolve_addr");
	cm_wait(CM[k].ch[0], RDMA_CM_EVENT_ADDR_RESOLVED, "resolving the loopback's address");
	if (RC.resolve_route(CM[k].active, CM_TIMEOUT_MS)) die("rdma_resolve_route");
	cm_wait(CM[k].ch[0], RDMA_CM_EVENT_ROUTE_RESOLVED, "the loopback's route");
	if (strcmp(ibv_get_device_name(CM[k].active->verbs->device), ibv_get_device_name(F.ctx->device))) {
		fprintf(stderr, "memreg-c: rdma_cm: the port's address is reached through %s, not %s\n",
			ibv_get_device_name(CM[k].active->verbs->device), ibv_get_device_name(F.ctx->device));
		exit(2);
	}
	*a = qp_new(pdA, cqA);
	cm_modify(CM[k].active, *a, IBV_QPS_INIT);
	struct rdma_conn_param p = {.responder_resources = F.max_rd_atomic, .initiator_depth = F.max_rd_atomic,
				    .retry_count = fx_retry_cnt, .rnr_retry_count = 3, .qp_num = (*a)->qp_num};
	if (RC.connect(CM[k].active, &p)) die("rdma_connect");
	CM[k].passive = cm_wait(CM[k].ch[1], RDMA_CM_EVENT_CONNECT_REQUEST, "the loopback's request");
	*b = qp_new(pdB, cqB);
	cm_modify(CM[k].passive, *b, IBV_QPS_INIT);
	cm_modify(CM[k].passive, *b, IBV_QPS_RTR);
	cm_modify(CM[k].passive, *b, IBV_QPS_RTS);
	p.qp_num = (*b)->qp_num;
	if (RC.accept(CM[k].passive, &p)) die("rdma_accept");
	cm_wait(CM[k].ch[0], RDMA_CM_EVENT_ESTABLISHED, "connecting the loopback");
	cm_wait(CM[k].ch[1], RDMA_CM_EVENT_ESTABLISHED, "accepting the loopback");
	F.peer_qpn[2 * k] = (*a)->qp_num;
	F.peer_qpn[2 * k + 1] = (*b)->qp_num;
}
#endif

/* iWARP: the program cannot connect its QPs without rdma_cm (built without librdmacm, or without -lrdmacm). */
static void cm_check(void) {
	const char *why = "built without librdmacm's headers (rdma/rdma_cma.h)";
#ifdef MEMREG_CM
	void *h = dlopen("librdmacm.so.1", RTLD_NOW);
	why = "cannot load librdmacm.so.1 (install librdmacm1)";
	if (h) {
		int ok = 1;
#define CM_SYM(f) ok &= !!(*(void **)&RC.f = dlsym(h, "rdma_" #f))
		CM_SYM(create_event_channel), CM_SYM(destroy_event_channel), CM_SYM(create_id), CM_SYM(destroy_id);
		CM_SYM(bind_addr), CM_SYM(listen), CM_SYM(resolve_addr), CM_SYM(resolve_route), CM_SYM(connect);
		CM_SYM(accept), CM_SYM(get_cm_event), CM_SYM(ack_cm_event), CM_SYM(init_qp_attr);
		CM_SYM(get_src_port), CM_SYM(event_str);
#undef CM_SYM
		if (ok) return;
		why = "librdmacm.so.1 lacks an rdma_cm call";
	}
#endif
	fprintf(stderr, "memreg-c: %s is iWARP: its QPs connect through rdma_cm only, but this program was %s\n",
		ibv_get_device_name(F.ctx->device), why);
	exit(2);
}

/* Connection k (0: qpA-qpB, 1: qpC-qpD) on QPs of pdA/cqA and pdB/cqB. */
static void connect_k(int k) {
#ifdef MEMREG_CM
	if (F.iwarp) {
		cm_pair(k, F.pdA, F.cqA, F.pdB, F.cqB);
		return;
	}
#endif
	uint32_t psn[2][2] = {{0x2000, 0x1000}, {0x3000, 0x4000}};
	struct ibv_qp *a = F.qp[2 * k], *b = F.qp[2 * k + 1];
	qp_connect(a, b->qp_num, psn[k][0], psn[k][1]);
	qp_connect(b, a->qp_num, psn[k][1], psn[k][0]);
}

static void connect_main(void) {
	connect_k(0);
}

static void fx_open(int separate_pd) {
	const char *want = getenv("MEMREG_DEVICE");
	if (want && !*want) want = NULL; /* set but empty: the default, as in memreg */
	int n;
	struct ibv_device **list = ibv_get_device_list(&n);
	if (!list || n == 0) die("no RDMA device");
	for (int i = 0; i < n && !F.ctx; i++)
		if (!want || !strcmp(ibv_get_device_name(list[i]), want)) F.ctx = ibv_open_device(list[i]);
	if (!F.ctx && want) {
		fprintf(stderr, "memreg-c: no RDMA device named %s\n", want);
		exit(2);
	}
	if (!F.ctx) die("ibv_open_device");
	ibv_free_device_list(list);
	F.port = getenv("MEMREG_PORT") ? atoi(getenv("MEMREG_PORT")) : 1;
	F.step_deadline_ms = getenv("MEMREG_STEP_DEADLINE_MS") ? atof(getenv("MEMREG_STEP_DEADLINE_MS")) : 5000;
	struct ibv_port_attr pa;
	struct ibv_device_attr da;
	if (ibv_query_port(F.ctx, F.port, &pa) || ibv_query_device(F.ctx, &da)) die("query");
	F.mtu = pa.active_mtu;
	F.lid = pa.lid;
	int r = da.max_qp_rd_atom < da.max_qp_init_rd_atom ? da.max_qp_rd_atom : da.max_qp_init_rd_atom;
	F.max_rd_atomic = r < 1 ? 1 : r > 16 ? 16 : r;
	F.gid_index = getenv("MEMREG_GID") ? atoi(getenv("MEMREG_GID")) : default_gid_index();
	if (F.gid_index >= 0 && ibv_query_gid(F.ctx, F.port, F.gid_index, &F.gid)) die("ibv_query_gid");
	F.pdA = ibv_alloc_pd(F.ctx);
	F.pdB = separate_pd ? ibv_alloc_pd(F.ctx) : F.pdA;
	F.cqA = ibv_create_cq(F.ctx, 1024, NULL, NULL, 0);
	F.cqB = ibv_create_cq(F.ctx, 1024, NULL, NULL, 0);
	if (!F.pdA || !F.pdB || !F.cqA || !F.cqB) die("pd/cq");
	F.iwarp = F.ctx->device->transport_type == IBV_TRANSPORT_IWARP;
	if (F.iwarp) cm_check();
	if (!F.iwarp) {
		F.qp[0] = qp_new(F.pdA, F.cqA);
		F.qp[1] = qp_new(F.pdB, F.cqB);
		F.peer_qpn[0] = F.qp[0]->qp_num;
		F.peer_qpn[1] = F.qp[1]->qp_num;
	}
	connect_main();
	const int rw = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	struct buf *src = buf_new(16384);
	buf_new(16384); /* b1: the target */
	F.srcMr = ibv_reg_mr(F.pdA, src->p, 16384, rw);
	struct buf *rb = buf_new(16384);
	F.recvMr = ibv_reg_mr(F.pdB, rb->p, 16384, IBV_ACCESS_LOCAL_WRITE);
	if (!F.srcMr || !F.recvMr) die("ibv_reg_mr");
	F.next_wr = 1;
}

static struct ibv_pd *pd_of(const char *ref) {
	if (!strcmp(ref, "A")) return F.pdA;
	if (!strcmp(ref, "B")) return F.pdB;
	return F.pd[atoi(ref + 2)];
}

static int side_ix(char s) {
	return s - 'A';
}
static int peer_ix(int s) {
	return s ^ 1;
}
static int cq_ix(int s) {
	return (s == 0 || s == 2) ? 0 : 1;
}
static struct ibv_qp *qp_of(char side) {
	struct ibv_qp *qp = F.qp[side_ix(side)];
	if (!qp) {
		fprintf(stderr, "memreg-c: qp%c does not exist\n", side);
		exit(2);
	}
	return qp;
}

static void fx_pair(void) {
	if (!F.iwarp) {
		F.qp[2] = qp_new(F.pdA, F.cqA);
		F.qp[3] = qp_new(F.pdB, F.cqB);
		F.peer_qpn[2] = F.qp[2]->qp_num;
		F.peer_qpn[3] = F.qp[3]->qp_num;
	}
	connect_k(1);
	F.have_pair = 1;
}

/* ---- completions ---- */

static void drain_into(struct wc_list *l, struct ibv_cq *cq) {
	struct ibv_wc wc[NWC];
	int n;
	while ((n = ibv_poll_cq(cq, NWC, wc)) > 0)
		for (int i = 0; i < n && l->n < 512; i++) l->wc[l->n++] = wc[i];
	if (n < 0) die("ibv_poll_cq");
}

/* Waits for the completions of ids[0..n) on side's CQ, in arrival order; others stay for later. With
 * missing_ok, returns what arrived by the deadline instead of giving up. */
static int await_ids_for(int cqi, const uint64_t *ids, int n, struct ibv_wc *out, double deadline_ms,
			 int missing_ok) {
	struct ibv_cq *cq = cqi ? F.cqB : F.cqA;
	struct wc_list *st = &F.stray[cqi];
	int found = 0;
	double deadline = now_ms() + (deadline_ms > 0 ? deadline_ms : F.step_deadline_ms);
	for (;;) {
		for (int i = 0; i < st->n;) {
			int want = 0;
			for (int j = 0; j < n; j++) want |= st->wc[i].wr_id == ids[j];
			if (want) {
				out[found++] = st->wc[i];
				memmove(&st->wc[i], &st->wc[i + 1], (st->n - i - 1) * sizeof st->wc[0]);
				st->n--;
			} else {
				i++;
			}
		}
		if (found >= n) return found;
		struct ibv_wc wc[NWC];
		int got = ibv_poll_cq(cq, NWC, wc);
		if (got < 0) die("ibv_poll_cq");
		for (int i = 0; i < got && st->n < 512; i++) st->wc[st->n++] = wc[i];
		if (got == 0) {
			if (now_ms() > deadline) {
				if (missing_ok) return found;
				fprintf(stderr, "memreg-c: %d of %d completion(s) within the step deadline\n", found, n);
				exit(3);
			}
			usleep(1000);
		}
	}
}

static int await_ids(int cqi, const uint64_t *ids, int n, struct ibv_wc *out) {
	return await_ids_for(cqi, ids, n, out, 0, 0);
}

static void drain(int cqi, struct wc_list *into) {
	struct wc_list *st = &F.stray[cqi];
	*into = *st;
	st->n = 0;
	drain_into(into, cqi ? F.cqB : F.cqA);
}

static const char *key_name(uint32_t key) {
	static char buf[16];
	for (int i = F.nnames - 1; i >= 0; i--)
		if (F.name_key[i] == key) return F.name_val[i];
	snprintf(buf, sizeof buf, "0x%x", key);
	return buf;
}

static void fx_name(uint32_t key, const char *name) {
	F.name_key[F.nnames] = key;
	F.name_val[F.nnames++] = name;
}

/* ---- steps ---- */

static void fx_buf(size_t size) {
	buf_new(size);
}

static void fx_pd(int i) {
	F.pd[i] = ibv_alloc_pd(F.ctx);
	if (!F.pd[i]) die("ibv_alloc_pd");
}

static void fx_reg(const char *label, int id, const char *pd, int b, size_t off, uint64_t len, int access,
		   const char *iova, const char *addr) {
	void *a = addr ? (void *)(uintptr_t)strtoull(addr, NULL, 10) : F.b[b]->p + off;
	struct ibv_mr *mr = iova ? ibv_reg_mr_iova2(pd_of(pd), a, len, strtoull(iova, NULL, 10), access)
				 : ibv_reg_mr(pd_of(pd), a, len, access);
	if (label) fact(label, ".ret", mr ? "0" : errno_name(errno));
	if (!mr && !label) die("ibv_reg_mr");
	if (id >= 0) F.mr[id] = mr;
}

static void fx_release(const char *label, char kind, int i) {
	int ret = kind == 'r' ? ibv_dereg_mr(F.mr[i]) : kind == 'w' ? ibv_dealloc_mw(F.mw[i]) : ibv_dealloc_pd(F.pd[i]);
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
	if (ret == 0) {
		if (kind == 'r') F.mr[i] = NULL;
		else if (kind == 'w') F.mw[i] = NULL;
		else F.pd[i] = NULL;
	}
}

static void fx_rereg(const char *label, int i, int flags, int access, const char *pd, int b, size_t off, size_t len) {
	void *addr = b >= 0 ? F.b[b]->p + off : NULL;
	int ret = ibv_rereg_mr(F.mr[i], flags, pd ? pd_of(pd) : NULL, addr, len, access);
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret < 0 ? errno : ret));
}

static void fx_mw(int i, int type, const char *pd) {
	F.mw[i] = ibv_alloc_mw(pd_of(pd), type == 1 ? IBV_MW_TYPE_1 : IBV_MW_TYPE_2);
	if (!F.mw[i]) die("ibv_alloc_mw");
}

/* ibv_alloc_mw of any type (invalid ones included): fact label.ret; a window it makes is freed at once. */
static void fx_mw_try(const char *label, int type, const char *pd) {
	struct ibv_mw *mw = ibv_alloc_mw(pd_of(pd), (enum ibv_mw_type)type);
	fact(label, ".ret", mw ? "0" : errno_name(errno));
	if (mw) ibv_dealloc_mw(mw);
}

/* A dma-buf of size bytes: a sealed memfd turned into a dma-buf by /dev/udmabuf (udmabuf != 0), or the memfd
 * itself (not a dma-buf). -1 where /dev/udmabuf cannot be opened. */
static int dmabuf_fd(size_t size, int udmabuf) {
	int mfd = memfd_create("memreg-dmabuf", MFD_ALLOW_SEALING);
	if (mfd < 0 || ftruncate(mfd, size)) die("memfd");
	if (!udmabuf) return mfd;
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) die("F_ADD_SEALS");
	int dev = open("/dev/udmabuf", O_RDWR);
	if (dev < 0) return -1;
	struct { uint32_t memfd, flags; uint64_t offset, size; } c = {(uint32_t)mfd, 1 /* CLOEXEC */, 0, size};
	int fd = ioctl(dev, 0x40187542 /* UDMABUF_CREATE */, &c);
	close(dev);
	close(mfd);
	return fd;
}

static void fx_reg_dmabuf(const char *label, int id, const char *pd, size_t size, int udmabuf, uint64_t offset,
			  uint64_t len, uint64_t iova, int access) {
	int fd = dmabuf_fd(size, udmabuf);
	if (fd < 0) die("/dev/udmabuf");
	struct ibv_mr *mr = ibv_reg_dmabuf_mr(pd_of(pd), offset, len, iova, fd, access);
	fact(label, ".ret", mr ? "0" : errno_name(errno));
	if (id >= 0) F.mr[id] = mr;
}

/* Device-wide object counts (pd cq qp mr) of this device from `rdma -j resource show`; with base, the fact
 * label = "same" or what changed since the snapshot base ("mr+1"). */
static long counts_of[MAXO][4];
static const char *counts_label[MAXO];
static int ncounts;
static void rdma_counts(long out[4]) {
	static const char *keys[] = {"\"pd\":", "\"cq\":", "\"qp\":", "\"mr\":"};
	char line[4096] = "", pat[64];
	FILE *p = popen("rdma -j resource show", "r");
	if (!p || !fgets(line, sizeof line, p)) die("rdma resource show");
	pclose(p);
	snprintf(pat, sizeof pat, "\"ifname\":\"%s\"", ibv_get_device_name(F.ctx->device));
	char *row = strstr(line, pat);
	if (!row) die("rdma resource show: no row for the device");
	for (int i = 0; i < 4; i++) {
		char *k = strstr(row, keys[i]);
		out[i] = k ? strtol(k + strlen(keys[i]), NULL, 10) : 0;
	}
}
static void fx_counts(const char *label, const char *base) {
	long now[4];
	rdma_counts(now);
	if (!base) {
		counts_label[ncounts] = label;
		memcpy(counts_of[ncounts++], now, sizeof now);
		return;
	}
	static const char *names[] = {"pd", "cq", "qp", "mr"};
	for (int b = 0; b < ncounts; b++) {
		if (strcmp(counts_label[b], base)) continue;
		char v[128] = "";
		for (int i = 0; i < 4; i++) {
			long d = now[i] - counts_of[b][i];
			if (d) snprintf(v + strlen(v), sizeof v - strlen(v), "%s%s%+ld", *v ? " " : "", names[i], d);
		}
		fact(label, "", *v ? v : "same");
	}
}

static void bind_result(const char *label, int ok) {
	fact(label, "", ok ? "ok" : "rejected");
}

static void fx_bind1(const char *label, int mw, int mr, int b, size_t off, uint64_t len, int access, char via,
		     int null_range) {
	struct ibv_mw_bind bind = {0};
	bind.wr_id = F.next_wr++;
	bind.send_flags = IBV_SEND_SIGNALED;
	bind.bind_info.mr = mr >= 0 ? F.mr[mr] : NULL;
	bind.bind_info.addr = null_range ? 0 : (uint64_t)(uintptr_t)(F.b[b]->p + off);
	bind.bind_info.length = null_range ? 0 : len;
	bind.bind_info.mw_access_flags = access;
	int ret = ibv_bind_mw(qp_of(via), F.mw[mw], &bind);
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
	int ok = ret == 0;
	if (ok) {
		struct ibv_wc wc;
		await_ids(cq_ix(side_ix(via)), &bind.wr_id, 1, &wc);
		fact(label, ".wc", status_name(wc.status));
		ok = wc.status == IBV_WC_SUCCESS;
	}
	bind_result(label, ok);
}

/* One WR of a post step. */
enum { OP_WRITE, OP_READ, OP_SEND, OP_LOCAL, OP_ATOMIC, OP_BIND };
struct op {
	int kind;
	uint32_t key;
	int target; /* buffer */
	size_t off;
	uint32_t len;
	int has_raddr;
	uint64_t raddr;
	int has_lkey;
	uint32_t lkey;
	int from_b;
	int plain;       /* send: a plain SEND, not SEND_WITH_INV */
	int landing;     /* buffer index (read, atomic) */
	int landing_mr;  /* mr index of the landing buffer */
	int fadd;
	uint64_t compare_add, swap;
	/* bind (type 2) */
	int mw, mr, access;
	uint64_t blen;
	int fence;       /* IBV_SEND_FENCE */
	int unplaced;    /* write: expected refused though it may complete (iWARP): never intended */
};

static void post_ops(const char *label, char via, struct op *ops, int n, double deadline_ms, int missing_ok);

static void fx_bind2(const char *label, int mw, uint32_t key, int mr, int b, size_t off, uint64_t len, int access,
		     char via) {
	struct op o = {.kind = OP_BIND, .key = key, .mw = mw, .mr = mr, .target = b, .off = off, .blen = len,
		       .access = access};
	post_ops(label, via, &o, 1, 0, 0);
}

/* QPs a step made for itself (UD, extended API). */
static struct ibv_qp *own_qp[MAXO];
static int n_own_qp;

/* A bind's facts (label.ret, .wc, label) on a QP of the step's own, waited for on cqB. */
static void bind_on(const char *label, struct ibv_qp *qp, uint64_t wr_id, int ret) {
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
	int ok = ret == 0;
	if (ok) {
		struct ibv_wc wc;
		int n = await_ids(1, &wr_id, 1, &wc);
		fact(label, ".wc", n ? status_name(wc.status) : "none");
		ok = n && wc.status == IBV_WC_SUCCESS;
	}
	bind_result(label, ok);
	own_qp[n_own_qp++] = qp; /* destroyed at fx_close, after the windows (a bound window holds the QP) */
}

/* IBV_WR_BIND_MW of window mw posted on a UD QP of its own (PD B, cqB, in RTS). */
static void fx_bind_ud(const char *label, int mw, uint32_t key, int mr, int b, size_t off, uint64_t len, int access) {
	struct ibv_qp_init_attr ia = {0};
	ia.send_cq = ia.recv_cq = F.cqB;
	ia.cap.max_send_wr = ia.cap.max_recv_wr = 16;
	ia.cap.max_send_sge = ia.cap.max_recv_sge = 1;
	ia.qp_type = IBV_QPT_UD;
	struct ibv_qp *qp = ibv_create_qp(F.pdB, &ia);
	if (!qp) die("ibv_create_qp (UD)");
	struct ibv_qp_attr a = {0};
	a.qp_state = IBV_QPS_INIT;
	a.port_num = F.port;
	a.qkey = 0x11111111;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY)) die("UD INIT");
	qp_to(qp, IBV_QPS_RTR);
	memset(&a, 0, sizeof a);
	a.qp_state = IBV_QPS_RTS;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN)) die("UD RTS");
	struct ibv_send_wr wr = {0}, *bad;
	wr.wr_id = F.next_wr++;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.opcode = IBV_WR_BIND_MW;
	wr.bind_mw.mw = F.mw[mw];
	wr.bind_mw.rkey = key;
	wr.bind_mw.bind_info.mr = mr >= 0 ? F.mr[mr] : NULL;
	wr.bind_mw.bind_info.addr = (uint64_t)(uintptr_t)(F.b[b]->p + off);
	wr.bind_mw.bind_info.length = len;
	wr.bind_mw.bind_info.mw_access_flags = access;
	bind_on(label, qp, wr.wr_id, ibv_post_send(qp, &wr, &bad));
}

/* ibv_wr_bind_mw on an RC QP of its own from ibv_create_qp_ex with send_ops_flags BIND_MW (PD B, cqB), connected
 * to itself; .ret is ibv_wr_complete's status. */
static void fx_bind_ex(const char *label, int mw, uint32_t key, int mr, int b, size_t off, uint64_t len, int access) {
	struct ibv_qp_init_attr_ex ia = {.send_cq = F.cqB, .recv_cq = F.cqB, .qp_type = IBV_QPT_RC, .pd = F.pdB,
					  .comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
					  .send_ops_flags = IBV_QP_EX_WITH_BIND_MW};
	ia.cap.max_send_wr = ia.cap.max_recv_wr = 16;
	ia.cap.max_send_sge = ia.cap.max_recv_sge = 1;
	struct ibv_qp *qp = ibv_create_qp_ex(F.ctx, &ia);
	if (!qp) die("ibv_create_qp_ex (BIND_MW)");
	qp_connect(qp, qp->qp_num, 0x3000, 0x3000);
	struct ibv_qp_ex *q = ibv_qp_to_qp_ex(qp);
	struct ibv_mw_bind_info info = {mr >= 0 ? F.mr[mr] : NULL, (uint64_t)(uintptr_t)(F.b[b]->p + off), len,
					(unsigned)access};
	uint64_t id = F.next_wr++;
	ibv_wr_start(q);
	q->wr_id = id;
	q->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_bind_mw(q, F.mw[mw], key, &info);
	bind_on(label, qp, id, ibv_wr_complete(q));
}

/* A receive of 4 KiB into buffer b with lkey (the fixture's receive buffer and MR where b < 0 / !has_lkey). */
static void fx_recv_at(char side, int b, int has_lkey, uint32_t lkey) {
	struct ibv_sge sge = {(uintptr_t)F.b[b >= 0 ? b : 2]->p, 4096, has_lkey ? lkey : F.recvMr->lkey};
	struct ibv_recv_wr wr = {0}, *bad;
	wr.wr_id = F.next_wr++;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	int ret = ibv_post_recv(qp_of(side), &wr, &bad);
	if (ret) {
		fprintf(stderr, "memreg-c: ibv_post_recv: %s\n", errno_name(ret));
		exit(2);
	}
}

static void status_facts(const char *label, struct ibv_wc *wcs, int n, const uint64_t *ids, int want) {
	char s[1024] = "";
	for (int i = 0; i < want; i++) {
		if (i) strcat(s, ",");
		strcat(s, i < n ? status_name(wcs[i].status) : "none");
	}
	fact(label, ".wc", s);
	if (n > 1) {
		int posted = 1;
		for (int i = 0; i < n; i++) posted &= wcs[i].wr_id == ids[i];
		fact(label, ".order", posted ? "posted" : "other");
	}
}

static void fx_collect(const char *label, char side, int n) {
	/* The last n receives posted on `side` are the ones the case waits for: their wr_ids precede next_wr. */
	uint64_t ids[64];
	for (int i = 0; i < n; i++) ids[i] = F.next_wr - n + i;
	struct ibv_wc wcs[64];
	await_ids(cq_ix(side_ix(side)), ids, n, wcs);
	status_facts(label, wcs, n, ids, n);
}

/* Like fx_collect, for receives posted ago[i] work requests before the next one; missing ones are "none" where
 * missing_ok (deadline_ms 0: the step deadline). */
static void fx_collect_ago(const char *label, char side, int n, const int *ago, double deadline_ms, int missing_ok) {
	uint64_t ids[64];
	for (int i = 0; i < n; i++) ids[i] = F.next_wr - (uint64_t)ago[i];
	struct ibv_wc wcs[64];
	int got = await_ids_for(cq_ix(side_ix(side)), ids, n, wcs, deadline_ms, missing_ok);
	status_facts(label, wcs, got, ids, n);
}

static void intend(struct buf *t, size_t off, const uint8_t *bytes, size_t len) {
	memcpy(t->intended + off, bytes, len);
}

static void post_ops(const char *label, char via, struct op *ops, int n, double deadline_ms, int missing_ok) {
	struct ibv_send_wr wr[8];
	struct ibv_sge sge[8];
	uint64_t ids[8];
	int sent = -1, any_remote = 0;
	memset(wr, 0, sizeof wr);
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];
		ids[i] = F.next_wr++;
		wr[i].wr_id = ids[i];
		wr[i].send_flags = IBV_SEND_SIGNALED | (o->fence ? IBV_SEND_FENCE : 0);
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
		struct buf *t = o->target >= 0 ? F.b[o->target] : NULL;
		uint64_t raddr = o->has_raddr ? o->raddr : t ? (uint64_t)(uintptr_t)(t->p + o->off) : 0;
		switch (o->kind) {
		case OP_WRITE:
		case OP_READ: {
			any_remote = 1;
			struct buf *lb = o->kind == OP_READ ? F.b[o->landing] : o->from_b ? F.b[2] : F.b[0];
			uint32_t lk = o->kind == OP_READ ? F.mr[o->landing_mr]->lkey : o->from_b ? F.recvMr->lkey : F.srcMr->lkey;
			if (o->has_lkey) lk = o->lkey;
			wr[i].opcode = o->kind == OP_READ ? IBV_WR_RDMA_READ : IBV_WR_RDMA_WRITE;
			if (o->len > 0 || (o->has_lkey && lk != 0)) {
				sge[i] = (struct ibv_sge){(uintptr_t)lb->p, o->len, o->len == 0 ? 0 : lk};
				wr[i].sg_list = &sge[i];
				wr[i].num_sge = 1;
			}
			wr[i].wr.rdma.remote_addr = raddr;
			wr[i].wr.rdma.rkey = o->key;
			break;
		}
		case OP_ATOMIC:
			any_remote = 1;
			wr[i].opcode = o->fadd ? IBV_WR_ATOMIC_FETCH_AND_ADD : IBV_WR_ATOMIC_CMP_AND_SWP;
			sge[i] = (struct ibv_sge){(uintptr_t)F.b[o->landing]->p, 8, F.mr[o->landing_mr]->lkey};
			wr[i].sg_list = &sge[i];
			wr[i].num_sge = 1;
			wr[i].wr.atomic.remote_addr = raddr;
			wr[i].wr.atomic.compare_add = o->compare_add;
			wr[i].wr.atomic.swap = o->swap;
			wr[i].wr.atomic.rkey = o->key;
			break;
		case OP_SEND:
			any_remote = 1;
			sent = i;
			wr[i].opcode = o->plain ? IBV_WR_SEND : IBV_WR_SEND_WITH_INV;
			sge[i] = (struct ibv_sge){(uintptr_t)F.b[0]->p, 32, F.srcMr->lkey};
			wr[i].sg_list = &sge[i];
			wr[i].num_sge = 1;
			if (!o->plain) wr[i].invalidate_rkey = o->key;
			break;
		case OP_LOCAL:
			wr[i].opcode = IBV_WR_LOCAL_INV;
			wr[i].invalidate_rkey = o->key;
			break;
		case OP_BIND:
			wr[i].opcode = IBV_WR_BIND_MW;
			wr[i].bind_mw.mw = F.mw[o->mw];
			wr[i].bind_mw.rkey = o->key;
			wr[i].bind_mw.bind_info.mr = o->mr >= 0 ? F.mr[o->mr] : NULL;
			wr[i].bind_mw.bind_info.addr = (uint64_t)(uintptr_t)(F.b[o->target]->p + o->off);
			wr[i].bind_mw.bind_info.length = o->blen;
			wr[i].bind_mw.bind_info.mw_access_flags = o->access;
			break;
		}
	}
	struct ibv_send_wr *bad;
	int ret = ibv_post_send(qp_of(via), wr, &bad);
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
	int bind_alone = n == 1 && ops[0].kind == OP_BIND;
	if (bind_alone && ret != 0) {
		bind_result(label, 0);
		return;
	}
	if (ret != 0) return;
	struct ibv_wc wcs[8];
	int s = side_ix(via);
	int got_n = await_ids_for(cq_ix(s), ids, n, wcs, deadline_ms, missing_ok);
	status_facts(label, wcs, got_n, ids, n);
	if (bind_alone) {
		if (wcs[0].status == IBV_WC_SUCCESS) F.mw[ops[0].mw]->rkey = ops[0].key;
		bind_result(label, wcs[0].status == IBV_WC_SUCCESS);
		return;
	}
	if (any_remote) {
		int err = 0;
		for (int i = 0; i < got_n; i++) err |= wcs[i].status != IBV_WC_SUCCESS;
		if (err) usleep(MEMREG_SETTLE_MS * 1000);
		struct wc_list got = {.n = 0}, all = {.n = 0};
		int pc = cq_ix(peer_ix(s));
		uint32_t peer_qpn = F.peer_qpn[peer_ix(s)];
		int send_ok = 0;
		for (int i = 0; i < got_n; i++)
			if (sent >= 0 && wcs[i].wr_id == ids[sent]) send_ok = wcs[i].status == IBV_WC_SUCCESS;
		/* Only the peer QP's completions (qpB and qpD share a CQ); the others stay for later. */
		double deadline = now_ms() + F.step_deadline_ms;
		for (;;) {
			struct wc_list more;
			drain(pc, &more);
			for (int i = 0; i < more.n; i++) {
				if (more.wc[i].qp_num == peer_qpn) got.wc[got.n++] = more.wc[i];
				else all.wc[all.n++] = more.wc[i];
			}
			if (!send_ok || got.n) break;
			if (now_ms() > deadline) {
				fprintf(stderr, "memreg-c: no responder completion\n");
				exit(3);
			}
			usleep(1000);
		}
		for (int i = 0; i < all.n; i++) F.stray[pc].wc[F.stray[pc].n++] = all.wc[i];
		char s2[1024] = "";
		for (int i = 0; i < got.n; i++) {
			if (i) strcat(s2, ",");
			strcat(s2, status_name(got.wc[i].status));
		}
		fact(label, ".resp", got.n ? s2 : "none");
		if (got.n) {
			struct ibv_wc *f0 = &got.wc[0];
			char opn[64];
			if (f0->status != IBV_WC_SUCCESS) snprintf(opn, sizeof opn, "(undefined: error completion)");
			else snprintf(opn, sizeof opn, "IBV_WC_%s", wc_opcode_name(f0->opcode));
			fact(label, ".respOp", opn);
			char fl[128] = "";
			for (size_t i = 0; i < sizeof(WC_FLAGS) / sizeof(WC_FLAGS[0]); i++) {
				if (f0->wc_flags & WC_FLAGS[i].n) {
					if (fl[0]) strcat(fl, "|");
					strcat(fl, WC_FLAGS[i].s);
				}
			}
			fact(label, ".respFlags", fl[0] ? fl : "none");
			if (sent >= 0) {
				fact(label, ".invRkey", f0->wc_flags & IBV_WC_WITH_INV ? key_name(f0->invalidated_rkey) : "(no WITH_INV)");
				fact(label, ".invRkeyField", key_name(f0->invalidated_rkey));
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct op *o = &ops[i];
		struct ibv_wc *w = NULL;
		for (int j = 0; j < got_n; j++)
			if (wcs[j].wr_id == ids[i]) w = &wcs[j];
		if (o->kind == OP_READ || o->kind == OP_ATOMIC) {
			uint32_t len = o->kind == OP_ATOMIC ? 8 : o->len;
			fact(label, ".data", read_verdict(F.b[o->landing], F.b[o->target], o->off, len));
		}
		if (!w || w->status != IBV_WC_SUCCESS) continue;
		if (o->kind == OP_BIND) F.mw[o->mw]->rkey = o->key; /* as an application keeps ibv_mw.rkey */
		if (o->target < 0) continue;
		struct buf *t = F.b[o->target];
		if (o->kind == OP_WRITE && !o->unplaced) intend(t, o->off, (o->from_b ? F.b[2] : F.b[0])->p, o->len);
		if (o->kind == OP_ATOMIC) {
			uint64_t cur;
			memcpy(&cur, t->intended + o->off, 8);
			uint64_t next = o->fadd ? cur + o->compare_add : cur == o->compare_add ? o->swap : cur;
			memcpy(t->intended + o->off, &next, 8);
		}
	}
}

static void fx_data(const char *label, int b) {
	fact(label, "", verdict(F.b[b]));
}

static void fx_states(const char *prefix) {
	static const char *names[] = {"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"};
	for (int i = 0; i < 2; i++) {
		struct ibv_qp_attr a;
		struct ibv_qp_init_attr ia;
		if (ibv_query_qp(F.qp[i], &a, IBV_QP_STATE, &ia)) die("ibv_query_qp");
		char l[128];
		snprintf(l, sizeof l, "%sqp%c", prefix, 'A' + i);
		fact(l, "", a.qp_state <= 6 ? names[a.qp_state] : "?");
	}
}

static void fx_recover(int ab, int cd) {
	if (ab) {
		qp_to(F.qp[0], IBV_QPS_RESET);
		qp_to(F.qp[1], IBV_QPS_RESET);
	}
	if (cd) {
		qp_to(F.qp[2], IBV_QPS_RESET);
		qp_to(F.qp[3], IBV_QPS_RESET);
	}
	struct wc_list junk;
	drain(0, &junk);
	drain(1, &junk);
	if (ab) connect_main();
	if (cd) connect_k(1);
}

/* A recover whose qpA <-> qpB connection uses `retry` transport retries (until the next recover). */
static void fx_recover_retry(int ab, int cd, int retry) {
	fx_retry_cnt = retry;
	fx_recover(ab, cd);
	fx_retry_cnt = FX_RETRY_CNT;
}

static void fx_qp_state(char side, int err) {
	qp_to(qp_of(side), err ? IBV_QPS_ERR : IBV_QPS_RESET);
}

static void fx_destroy_qp(const char *label, char side) {
	int ret = ibv_destroy_qp(qp_of(side));
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
	if (ret == 0) F.qp[side_ix(side)] = NULL;
}

static void fx_unmap(int b) {
	if (munmap(F.b[b]->p, F.b[b]->len)) die("munmap");
	F.b[b]->mapped = 0;
}

static void fx_madvise(int b, int advice, size_t off, size_t len) {
	if (madvise(F.b[b]->p + off, len, advice)) die("madvise");
}

/* ibv_advise_mr of [off, off+len) of buffer b through mr's lkey (or lkey), in mr's PD; EOPNOTSUPP ends the
 * program as unsupported, as memreg calls the case. */
static void fx_advise(const char *label, int mr, int advice, unsigned flags, int b, size_t off, uint32_t len,
		      int has_lkey, uint32_t lkey) {
	struct ibv_sge sge = {(uintptr_t)(F.b[b]->p + off), len, has_lkey ? lkey : F.mr[mr]->lkey};
	int ret = ibv_advise_mr(F.mr[mr]->pd, advice, flags, &sge, 1);
	if (ret == EOPNOTSUPP) {
		fprintf(stderr, "memreg-c: ibv_advise_mr: EOPNOTSUPP (unsupported)\n");
		exit(4);
	}
	fact(label, ".ret", ret == 0 ? "0" : errno_name(ret));
}

/* Buffer b's expected bytes at off become the source buffer's first len (a SEND into a receive there). */
static void fx_intend_send(int b, size_t off, size_t len) {
	intend(F.b[b], off, F.b[0]->p, len);
}

static void fx_remap(int b, uint32_t seed) {
	struct buf *x = F.b[b];
	if (mmap(x->p, x->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		die("mmap");
	x->mapped = 1;
	x->hist = x->orig;
	pattern(x->p, x->len, seed);
	x->orig = malloc(x->len);
	memcpy(x->orig, x->p, x->len);
	memcpy(x->intended, x->p, x->len);
}

/* Key reuse (see Fixture.keyReuse): the old key goes to K[k]. */
/* Key churn: trials MRs of 4 KiB over the target's middle registered and deregistered in PD B while the MRs
 * live[] stay; a new key equal to a live lkey or rkey is a collision, a lower index than the last a wrap. */
static void fx_churn(const char *label, int trials, const int *live, int n) {
	const int rw = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	int coll = 0, wrapped = 0;
	long last = -1;
	for (int i = 0; i < trials; i++) {
		struct ibv_mr *mr = ibv_reg_mr(F.pdB, F.b[1]->p + 4096, 4096, rw);
		if (!mr) die("ibv_reg_mr");
		for (int j = 0; j < n; j++)
			if (mr->lkey == F.mr[live[j]]->lkey || mr->lkey == F.mr[live[j]]->rkey ||
			    mr->rkey == F.mr[live[j]]->lkey || mr->rkey == F.mr[live[j]]->rkey)
				coll++;
		if ((long)(mr->lkey >> 8) < last) wrapped++;
		last = mr->lkey >> 8;
		if (ibv_dereg_mr(mr)) die("ibv_dereg_mr");
	}
	fact_int(label, ".trials", trials);
	fact_int(label, ".collisions", coll);
	fact_int(label, ".wrapped", wrapped);
}

static void fx_reuse(const char *label, const char *what, int trials, int k) {
	const int rw = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	uint8_t *addr = F.b[1]->p + 4096;
	struct ibv_mr *base = NULL;
	if (strcmp(what, "mr")) {
		base = ibv_reg_mr(F.pdB, addr, 8192, rw | IBV_ACCESS_MW_BIND);
		if (!base) die("ibv_reg_mr");
		F.mr[MAXO - 1] = base;
	}
	int same = 0, coll = 0;
	for (int i = -1; i < trials; i++) {
		uint32_t key;
		void *obj;
		if (!base) {
			struct ibv_mr *mr = ibv_reg_mr(F.pdB, addr, 4096, rw);
			if (!mr) die("ibv_reg_mr");
			key = mr->rkey;
			obj = mr;
		} else {
			int t1 = !strcmp(what, "mw1");
			struct ibv_mw *mw = ibv_alloc_mw(F.pdB, t1 ? IBV_MW_TYPE_1 : IBV_MW_TYPE_2);
			if (!mw) die("ibv_alloc_mw");
			uint64_t id = F.next_wr++;
			int ret;
			if (t1) {
				struct ibv_mw_bind b = {.wr_id = id, .send_flags = IBV_SEND_SIGNALED};
				b.bind_info = (struct ibv_mw_bind_info){base, (uintptr_t)addr, 4096, rw};
				ret = ibv_bind_mw(F.qp[1], mw, &b);
				key = mw->rkey;
			} else {
				key = ibv_inc_rkey(mw->rkey);
				struct ibv_send_wr wr = {0}, *bad;
				wr.wr_id = id;
				wr.opcode = IBV_WR_BIND_MW;
				wr.send_flags = IBV_SEND_SIGNALED;
				wr.bind_mw.mw = mw;
				wr.bind_mw.rkey = key;
				wr.bind_mw.bind_info = (struct ibv_mw_bind_info){base, (uintptr_t)addr, 4096, rw};
				ret = ibv_post_send(F.qp[1], &wr, &bad);
			}
			struct ibv_wc wc;
			if (ret) die("bind");
			await_ids(1, &id, 1, &wc);
			if (wc.status != IBV_WC_SUCCESS) die("bind completion");
			if (t1) key = mw->rkey;
			else mw->rkey = key;
			obj = mw;
		}
		if (i < 0) {
			K[k] = key;
		} else {
			same += (key >> 8) == (K[k] >> 8);
			coll += key == K[k];
		}
		if (i == trials - 1) {
			if (base) F.mw[MAXO - 1] = obj;
			else F.mr[MAXO - 2] = obj;
			continue;
		}
		if (base ? ibv_dealloc_mw(obj) : ibv_dereg_mr(obj)) die("free");
	}
	fact_int(label, ".trials", trials);
	fact_int(label, ".sameIndex", same);
	fact_int(label, ".collisions", coll);
}

/* Everything released children first, as memreg does (windows, then MRs, then PDs, then QPs). */
static void fx_close(void) {
	for (int i = MAXO - 1; i >= 0; i--)
		if (F.mw[i]) ibv_dealloc_mw(F.mw[i]);
	for (int i = 0; i < n_own_qp; i++) ibv_destroy_qp(own_qp[i]);
	for (int i = MAXO - 1; i >= 0; i--)
		if (F.mr[i]) ibv_dereg_mr(F.mr[i]);
	ibv_dereg_mr(F.srcMr);
	ibv_dereg_mr(F.recvMr);
	for (int i = MAXO - 1; i >= 0; i--)
		if (F.pd[i]) ibv_dealloc_pd(F.pd[i]);
	for (int i = 3; i >= 0; i--)
		if (F.qp[i]) ibv_destroy_qp(F.qp[i]);
#ifdef MEMREG_CM
	for (int k = 1; k >= 0; k--) cm_drop(k);
#endif
	ibv_destroy_cq(F.cqB);
	ibv_destroy_cq(F.cqA);
	if (F.pdB != F.pdA) ibv_dealloc_pd(F.pdB);
	ibv_dealloc_pd(F.pdA);
	ibv_close_device(F.ctx);
}
