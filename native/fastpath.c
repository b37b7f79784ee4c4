/* memreg fast path: the libibverbs verbs that verbs.h defines `static inline`, exported as real symbols so
 * Deno.dlopen can call them (~13 ns) instead of an UnsafeFnPointer through the provider ops (~1,500 ns).
 * Keep it tiny: no logic beyond forwarding, except the clock used to time hot loops. */
#include <infiniband/verbs.h>
#include <time.h>
#include <stdint.h>

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
/* Monotonic ns since the first call, as a double: exact for 104 days, and returned without allocating,
 * which a u64 (a BigInt in JS) would not be. */
double memreg_now_ns(void) {
	static struct timespec t0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!t0.tv_sec && !t0.tv_nsec) t0 = ts;
	return (double)(ts.tv_sec - t0.tv_sec) * 1e9 + (double)(ts.tv_nsec - t0.tv_nsec);
}
int memreg_abi(void) { return 1; }
