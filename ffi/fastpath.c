/* memreg fast path: the libibverbs verbs that verbs.h defines `static inline`, exported as real symbols so
 * Deno.dlopen can call them (~13 ns) instead of an UnsafeFnPointer through the provider ops (~1,500 ns).
 * Keep the forwarders tiny: no logic beyond forwarding, except the clock used to time hot loops.
 *
 * Then the timed verbs (memreg_timed_*): the raw verb bracketed by two clock reads right here, so that what
 * memreg reports as a verb's cost holds the verb alone, not the FFI crossing into it (tens of ns on a real
 * host, microseconds under emulation). Each writes ts[0] = start and ts[1] = end in memreg_now_ns' time base.
 *
 * Last, the C reference (memreg_ref_*): plain C loops of the same timed verbs, so that memreg's figures, taken
 * from a JS loop between other work, can be checked against a tight C loop in the same boot. */
#include <infiniband/verbs.h>
#include <errno.h>
#include <time.h>
#include <stdint.h>
#include <sys/mman.h>

int memreg_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad) { return ibv_post_send(qp, wr, bad); }
int memreg_post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad) { return ibv_post_recv(qp, wr, bad); }
int memreg_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc) { return ibv_poll_cq(cq, n, wc); }
int memreg_req_notify_cq(struct ibv_cq *cq, int solicited_only) { return ibv_req_notify_cq(cq, solicited_only); }
struct ibv_mw *memreg_alloc_mw(struct ibv_pd *pd, int type) { return ibv_alloc_mw(pd, (enum ibv_mw_type)type); }
int memreg_dealloc_mw(struct ibv_mw *mw) { return ibv_dealloc_mw(mw); }
int memreg_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw, struct ibv_mw_bind *bind) { return ibv_bind_mw(qp, mw, bind); }
int memreg_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr) { return ibv_query_port(ctx, port, attr); }
int memreg_query_device_ex(struct ibv_context *ctx, struct ibv_device_attr_ex *attr) { return ibv_query_device_ex(ctx, NULL, attr); }
int memreg_advise_mr(struct ibv_pd *pd, int advice, uint32_t flags, struct ibv_sge *sg, uint32_t n) {
	return ibv_advise_mr(pd, (enum ibv_advise_mr_advice)advice, flags, sg, n);
}
/* The extended QP API (verbs.h inlines): an RC QP with send_ops_flags, and one ibv_wr_bind_mw between
 * ibv_wr_start and ibv_wr_complete (its status: 0 or errno; a NULL qp_ex is EOPNOTSUPP). */
struct ibv_qp *memreg_create_qp_ex(struct ibv_context *ctx, struct ibv_pd *pd, struct ibv_cq *cq, uint64_t send_ops) {
	struct ibv_qp_init_attr_ex a = {.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC, .pd = pd,
					 .comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
					 .send_ops_flags = send_ops};
	a.cap.max_send_wr = a.cap.max_recv_wr = 16;
	a.cap.max_send_sge = a.cap.max_recv_sge = 1;
	return ibv_create_qp_ex(ctx, &a);
}
int memreg_wr_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw, uint32_t rkey, struct ibv_mr *mr, uint64_t addr,
		      uint64_t len, uint32_t access, uint64_t wr_id) {
	struct ibv_qp_ex *q = ibv_qp_to_qp_ex(qp);
	if (!q) return EOPNOTSUPP;
	struct ibv_mw_bind_info info = {.mr = mr, .addr = addr, .length = len, .mw_access_flags = access};
	ibv_wr_start(q);
	q->wr_id = wr_id;
	q->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_bind_mw(q, mw, rkey, &info);
	return ibv_wr_complete(q);
}
/* Monotonic ns since the first call, as a double: exact for 104 days, and returned without allocating,
 * which a u64 (a BigInt in JS) would not be. */
static double now_ns(void) {
	static struct timespec t0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!t0.tv_sec && !t0.tv_nsec) t0 = ts;
	return (double)(ts.tv_sec - t0.tv_sec) * 1e9 + (double)(ts.tv_nsec - t0.tv_nsec);
}
double memreg_now_ns(void) { return now_ns(); }
int memreg_abi(void) { return 6; }

/* ---- timed verbs ---- */

/* The end stamp keeps errno as the verb left it. */
#define STAMP_END(ts) do { int e_ = errno; (ts)[1] = now_ns(); errno = e_; } while (0)

struct ibv_mr *memreg_timed_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, double *ts) {
	ts[0] = now_ns();
	/* The parentheses call the exported ibv_reg_mr, as memreg's plain binding does, not the verbs.h macro. */
	struct ibv_mr *mr = (ibv_reg_mr)(pd, addr, len, access);
	STAMP_END(ts);
	return mr;
}
int memreg_timed_dereg_mr(struct ibv_mr *mr, double *ts) {
	ts[0] = now_ns();
	int ret = ibv_dereg_mr(mr);
	STAMP_END(ts);
	return ret;
}
int memreg_timed_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr, size_t len, int access,
			  double *ts) {
	ts[0] = now_ns();
	int ret = ibv_rereg_mr(mr, flags, pd, addr, len, access);
	STAMP_END(ts);
	return ret;
}
struct ibv_mw *memreg_timed_alloc_mw(struct ibv_pd *pd, int type, double *ts) {
	ts[0] = now_ns();
	struct ibv_mw *mw = ibv_alloc_mw(pd, (enum ibv_mw_type)type);
	STAMP_END(ts);
	return mw;
}
int memreg_timed_dealloc_mw(struct ibv_mw *mw, double *ts) {
	ts[0] = now_ns();
	int ret = ibv_dealloc_mw(mw);
	STAMP_END(ts);
	return ret;
}
int memreg_timed_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw, struct ibv_mw_bind *bind, double *ts) {
	ts[0] = now_ns();
	int ret = ibv_bind_mw(qp, mw, bind);
	STAMP_END(ts);
	return ret;
}
int memreg_timed_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad, double *ts) {
	ts[0] = now_ns();
	int ret = ibv_post_send(qp, wr, bad);
	STAMP_END(ts);
	return ret;
}
int memreg_timed_advise_mr(struct ibv_pd *pd, int advice, uint32_t flags, struct ibv_sge *sg, uint32_t n,
			   double *ts) {
	ts[0] = now_ns();
	int ret = ibv_advise_mr(pd, (enum ibv_advise_mr_advice)advice, flags, sg, n);
	STAMP_END(ts);
	return ret;
}

/* Maps n runs of the shared file fd into the reserved window win: run i is len[i] pages from page src[i] of the
 * file, placed at page at[i] of the window (MAP_FIXED|MAP_SHARED). 0, or -errno of the failed mmap. */
int memreg_timed_map_runs(void *win, int fd, const int32_t *at, const int32_t *src, const int32_t *len, int n,
			  int page, double *ts) {
	ts[0] = now_ns();
	for (int i = 0; i < n; i++) {
		void *p = mmap((char *)win + (size_t)at[i] * page, (size_t)len[i] * page, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, fd, (off_t)src[i] * page);
		if (p == MAP_FAILED) {
			int e = errno;
			STAMP_END(ts);
			return -e;
		}
	}
	STAMP_END(ts);
	return 0;
}
/* Puts the bare reservation (PROT_NONE, no pages) back over [win, win+len). 0 or -errno. */
int memreg_timed_reserve(void *win, size_t len, double *ts) {
	ts[0] = now_ns();
	void *p = mmap(win, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	int e = p == MAP_FAILED ? errno : 0;
	STAMP_END(ts);
	return -e;
}

#define WC_BASE 1000 /* an error completion is returned as -(WC_BASE + status) */

/* Spins until `cq` yields one completion (into *wc) or `max_ns` pass (the clock is read every 1024 empty polls);
 * 0, -ETIMEDOUT, -EIO (poll error) or -(WC_BASE + status). ts[1] = when the completion was seen. */
static int wait_one(struct ibv_cq *cq, struct ibv_wc *wc, double max_ns, double *ts) {
	unsigned spins = 0;
	int got;
	while ((got = ibv_poll_cq(cq, 1, wc)) == 0)
		if (++spins % 1024 == 0 && now_ns() - ts[0] > max_ns) return -ETIMEDOUT;
	ts[1] = now_ns();
	if (got < 0) return -EIO;
	return wc->status == IBV_WC_SUCCESS ? 0 : -(WC_BASE + (int)wc->status);
}

/* Type 1 bind (or zero-length unbind) and its completion, timed as one: ts = [before the bind, completion seen].
 * `cq` is the send CQ of `qp`, empty before. Returns what wait_one does, or -errno of the bind. */
int memreg_timed_bind_mw_wait(struct ibv_qp *qp, struct ibv_mw *mw, struct ibv_mw_bind *bind, struct ibv_cq *cq,
			      struct ibv_wc *wc, double max_ns, double *ts) {
	ts[0] = now_ns();
	int ret = ibv_bind_mw(qp, mw, bind);
	return ret ? -ret : wait_one(cq, wc, max_ns, ts);
}

/* One signaled work request (IBV_WR_BIND_MW, IBV_WR_LOCAL_INV) and its completion, timed as one. A bind's new
 * key goes to ibv_mw.rkey right after the post, as memreg does (rxe names the window in a bind WR by it). */
int memreg_timed_post_wait(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_cq *cq, struct ibv_wc *wc,
			   double max_ns, double *ts) {
	struct ibv_send_wr *bad;
	ts[0] = now_ns();
	int ret = ibv_post_send(qp, wr, &bad);
	if (ret) return -ret;
	if (wr->opcode == IBV_WR_BIND_MW) wr->bind_mw.mw->rkey = wr->bind_mw.rkey;
	return wait_one(cq, wc, max_ns, ts);
}

/* ---- slots: the timed verbs as memreg's JS timing loops call them ----
 * One native record per loop holds [start, end] and the object made or released, so that each call takes
 * pointers and numbers and returns an int: a V8 fast call, with no buffer argument to check and no pointer
 * object to build per call. Under emulation the crossing is most of the code run between two verbs, and that
 * code is what a JS loop adds to the figures next to a C loop. */
struct memreg_slot { double ts[2]; void *obj; };

int memreg_slot_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, struct memreg_slot *s) {
	s->obj = memreg_timed_reg_mr(pd, addr, len, access, s->ts);
	return s->obj ? 0 : errno;
}
int memreg_slot_dereg_mr(struct memreg_slot *s) { return memreg_timed_dereg_mr(s->obj, s->ts); }
int memreg_slot_alloc_mw(struct ibv_pd *pd, int type, struct memreg_slot *s) {
	s->obj = memreg_timed_alloc_mw(pd, type, s->ts);
	return s->obj ? 0 : errno;
}
int memreg_slot_dealloc_mw(struct memreg_slot *s) { return memreg_timed_dealloc_mw(s->obj, s->ts); }

/* ---- C reference ----
 * Each loop runs `cap` rounds, or stops once it has `min_n` rounds and `budget_ns` has passed, writing one
 * sample per round and verb into a[] and b[]; it returns the rounds done, or the failed call's negative code
 * (-errno, or -(WC_BASE + status)). */

static int enough(int n, int min_n, double start, double budget_ns) {
	return n >= min_n && now_ns() - start >= budget_ns;
}

int memreg_ref_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access, int min_n, double budget_ns,
		      int cap, double *a, double *b) {
	double ts[2], start = now_ns();
	int n = 0;
	while (n < cap) {
		struct ibv_mr *mr = memreg_timed_reg_mr(pd, addr, len, access, ts);
		if (!mr) return -errno;
		a[n] = ts[1] - ts[0];
		int ret = memreg_timed_dereg_mr(mr, ts);
		if (ret) return -ret;
		b[n] = ts[1] - ts[0];
		if (enough(++n, min_n, start, budget_ns)) break;
	}
	return n;
}

int memreg_ref_alloc_mw(struct ibv_pd *pd, int type, int min_n, double budget_ns, int cap, double *a, double *b) {
	double ts[2], start = now_ns();
	int n = 0;
	while (n < cap) {
		struct ibv_mw *mw = memreg_timed_alloc_mw(pd, type, ts);
		if (!mw) return -errno;
		a[n] = ts[1] - ts[0];
		int ret = memreg_timed_dealloc_mw(mw, ts);
		if (ret) return -ret;
		b[n] = ts[1] - ts[0];
		if (enough(++n, min_n, start, budget_ns)) break;
	}
	return n;
}

/* Type 1: bind + completion, then unbind + completion (the caller's two prepared ibv_mw_bind). */
int memreg_ref_bind_mw1(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_mw *mw, struct ibv_mw_bind *bind,
			struct ibv_mw_bind *unbind, struct ibv_wc *wc, double max_ns, int min_n, double budget_ns,
			int cap, double *a, double *b) {
	double ts[2], start = now_ns();
	int n = 0, ret;
	while (n < cap) {
		if ((ret = memreg_timed_bind_mw_wait(qp, mw, bind, cq, wc, max_ns, ts))) return ret;
		a[n] = ts[1] - ts[0];
		if ((ret = memreg_timed_bind_mw_wait(qp, mw, unbind, cq, wc, max_ns, ts))) return ret;
		b[n] = ts[1] - ts[0];
		if (enough(++n, min_n, start, budget_ns)) break;
	}
	return n;
}

/* Type 2: IBV_WR_BIND_MW with the next key (ibv_inc_rkey of ibv_mw.rkey) + completion, then IBV_WR_LOCAL_INV of
 * that key + completion (the caller's two prepared WRs; their keys are set here). */
int memreg_ref_bind_mw2(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_send_wr *bind, struct ibv_send_wr *inv,
			struct ibv_wc *wc, double max_ns, int min_n, double budget_ns, int cap, double *a,
			double *b) {
	double ts[2], start = now_ns();
	int n = 0, ret;
	while (n < cap) {
		uint32_t key = ibv_inc_rkey(bind->bind_mw.mw->rkey);
		bind->bind_mw.rkey = key;
		inv->invalidate_rkey = key;
		if ((ret = memreg_timed_post_wait(qp, bind, cq, wc, max_ns, ts))) return ret;
		a[n] = ts[1] - ts[0];
		if ((ret = memreg_timed_post_wait(qp, inv, cq, wc, max_ns, ts))) return ret;
		b[n] = ts[1] - ts[0];
		if (enough(++n, min_n, start, budget_ns)) break;
	}
	return n;
}


/* ---- concurrent registration (bench --regscale) ----
 * `threads` POSIX threads, each registering and deregistering its own buffer [addr + i*stride, +len) in a loop
 * with the C reference's stopping rule, all let go at once. Thread i writes its samples to a[i*cap ...] and
 * b[i*cap ...] and its rounds to n[i]; wall[0] = ns from the start signal to the last thread's end. Returns 0,
 * or -errno of the first failed call or thread creation (a failed thread stops there; the others finish). */
#include <pthread.h>

struct conc_start {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go, abort;
};

struct conc_worker {
	struct ibv_pd *pd;
	char *addr;
	size_t len;
	int access, min_n, cap, n, err;
	double budget_ns, end, *a, *b;
	struct conc_start *st;
};

static void *conc_loop(void *p) {
	struct conc_worker *w = p;
	double ts[2];
	pthread_mutex_lock(&w->st->mu);
	while (!w->st->go) pthread_cond_wait(&w->st->cv, &w->st->mu);
	int abort = w->st->abort;
	pthread_mutex_unlock(&w->st->mu);
	double start = now_ns();
	while (!abort && w->n < w->cap) {
		struct ibv_mr *mr = memreg_timed_reg_mr(w->pd, w->addr, w->len, w->access, ts);
		if (!mr) {
			w->err = errno;
			break;
		}
		w->a[w->n] = ts[1] - ts[0];
		int ret = memreg_timed_dereg_mr(mr, ts);
		if (ret) {
			w->err = ret;
			break;
		}
		w->b[w->n] = ts[1] - ts[0];
		if (enough(++w->n, w->min_n, start, w->budget_ns)) break;
	}
	w->end = now_ns();
	return NULL;
}

#define CONC_MAX 256

int memreg_conc_reg_mr(struct ibv_pd *pd, void *addr, size_t len, size_t stride, int access, int threads,
		       int min_n, double budget_ns, int cap, double *a, double *b, int32_t *n, double *wall) {
	static struct conc_worker w[CONC_MAX];
	pthread_t tid[CONC_MAX];
	struct conc_start st = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
	if (threads < 1 || threads > CONC_MAX) return -EINVAL;
	int started = 0, err = 0;
	for (int i = 0; i < threads; i++) {
		w[i] = (struct conc_worker){ pd, (char *)addr + (size_t)i * stride, len, access, min_n, cap, 0, 0,
					     budget_ns, 0, a + (size_t)i * cap, b + (size_t)i * cap, &st };
		if ((err = pthread_create(&tid[i], NULL, conc_loop, &w[i]))) break;
		started++;
	}
	pthread_mutex_lock(&st.mu);
	st.go = 1;
	st.abort = started < threads; /* not all could start: the ones that did leave at once */
	double start = now_ns();
	pthread_cond_broadcast(&st.cv);
	pthread_mutex_unlock(&st.mu);
	double last = start;
	for (int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		n[i] = w[i].n;
		if (w[i].end > last) last = w[i].end;
		if (!err && w[i].err) err = w[i].err;
	}
	wall[0] = last - start;
	return -err;
}
