/*
 * The routed pairs' fast path: a small eBPF program on the ingress of a container's host end
 * that hands a packet for another berth container straight to that container's venet0
 * (bpf_redirect_peer), so container-to-container traffic skips the host's IP forwarding path,
 * as Cilium's host routing does. Anything the program is not sure of goes on to the host's
 * normal path (TC_ACT_UNSPEC), where rp_filter, nftables and ICMP errors apply as before.
 *
 * A packet takes the fast path only when both of its addresses are berth routes, which the
 * program knows by their metric (TypeScript chooses it and gives it here):
 *   1. the route back to its source leaves through the interface it came in on (the strict
 *      reverse-path check that rp_filter would make: a container cannot send from an address
 *      it was not given);
 *   2. the route to its destination is another container's host end, the neighbour (that
 *      container's venet0 MAC) is known, and the packet fits its MTU;
 *   3. its TTL / hop limit is above 1: it is decremented, as forwarding would.
 *
 * The program is written here as instructions, with no compiler or object file: it is about a
 * hundred instructions, and berth then needs neither clang nor libbpf to build or run.
 * Its license string is "Dual MIT/GPL": bpf_fib_lookup is a GPL-only kernel helper, and this
 * program (and only it) is offered under the GPL as well as berth's own license.
 */
#define _GNU_SOURCE
#include "fastpath.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 256
#define MAX_LABELS 8

/* where struct bpf_fib_lookup lives on the program's stack */
#define P (-64)
#define FIB(field) (P + (int)offsetof(struct bpf_fib_lookup, field))
#define SKB(field) ((int)offsetof(struct __sk_buff, field))

enum label { L_PASS, L_V6, L_MACS, N_LABELS };
/* a jump over the one instruction after it (resolved at once, so it can repeat) */
#define L_NEXT (-2)

struct prog {
  struct bpf_insn insn[MAX_INSNS];
  int n, at[N_LABELS];
  int jump_to[MAX_INSNS]; /* label of a jump instruction, or -1 */
  int overflow;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm, int label) {
  if (p->n >= MAX_INSNS) {
    p->overflow = 1;
    return;
  }
  if (label == L_NEXT) off = 1, label = -1;
  p->insn[p->n] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
  p->jump_to[p->n++] = label;
}

/* the few instruction shapes the program uses */
#define MOV(d, s) emit(p, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0, -1)
#define MOVI(d, i) emit(p, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i, -1)
#define ADDI(d, i) emit(p, BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i, -1)
#define SUBI(d, i) emit(p, BPF_ALU64 | BPF_SUB | BPF_K, d, 0, 0, i, -1)
#define LD(sz, d, s, o) emit(p, BPF_LDX | (sz) | BPF_MEM, d, s, o, 0, -1)
#define ST(sz, d, o, s) emit(p, BPF_STX | (sz) | BPF_MEM, d, s, o, 0, -1)
#define STI(sz, d, o, i) emit(p, BPF_ST | (sz) | BPF_MEM, d, 0, o, i, -1)
#define JI(op, d, i, l) emit(p, BPF_JMP | (op) | BPF_K, d, 0, 0, i, l)
#define JR(op, d, s, l) emit(p, BPF_JMP | (op) | BPF_X, d, s, 0, 0, l)
#define JA(l) emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0, l)
#define CALL(fn) emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, fn, -1)
#define EXIT() emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0, -1)
#define LABEL(l) (p->at[l] = p->n)

/* registers kept across helper calls: the skb, packet start and end, the ingress ifindex */
enum { R0, R1, R2, R3, R4, R5, SKBR, DATA, END, IN, FP };

#define ETH 14 /* the pair is Ethernet: offsets below are from the frame's start */

/* zero the lookup's parameters, then set family and the ingress interface */
static void fib_begin(struct prog *p, int family) {
  for (int k = 0; k < 64; k += 8) STI(BPF_DW, FP, P + k, 0);
  STI(BPF_B, FP, FIB(family), family);
  ST(BPF_W, FP, FIB(ifindex), IN);
}

/* copy LEN bytes (a multiple of 4) from packet offset OFF to the parameters at STACK */
static void copy_addr(struct prog *p, int off, int stack, int len) {
  for (int k = 0; k < len; k += 4) {
    LD(BPF_W, R1, DATA, (int16_t)(off + k));
    ST(BPF_W, FP, (int16_t)(stack + k), R1);
  }
}

static void fib_call(struct prog *p) {
  MOV(R1, SKBR);
  MOV(R2, FP);
  ADDI(R2, P);
  MOVI(R3, (int32_t)sizeof(struct bpf_fib_lookup));
  MOVI(R4, 0);
  CALL(BPF_FUNC_fib_lookup);
}

/* step 1: the reverse route leaves through the ingress, and is a berth route. A missing
 * neighbour only means the host has not talked to the sender yet. */
static void reverse_check(struct prog *p, uint32_t metric) {
  fib_call(p);
  JI(BPF_JEQ, R0, BPF_FIB_LKUP_RET_SUCCESS, L_NEXT);
  JI(BPF_JNE, R0, BPF_FIB_LKUP_RET_NO_NEIGH, L_PASS);
  LD(BPF_W, R1, FP, FIB(ifindex));
  JR(BPF_JNE, R1, IN, L_PASS);
  LD(BPF_W, R1, FP, FIB(rt_metric));
  JI(BPF_JNE, R1, (int32_t)metric, L_PASS);
}

/* step 2: the destination is another berth route, with a known neighbour and within its MTU */
static void forward_check(struct prog *p, uint32_t metric) {
  fib_call(p);
  JI(BPF_JNE, R0, BPF_FIB_LKUP_RET_SUCCESS, L_PASS);
  LD(BPF_W, R1, FP, FIB(rt_metric));
  JI(BPF_JNE, R1, (int32_t)metric, L_PASS);
  LD(BPF_W, R1, FP, FIB(ifindex));
  JR(BPF_JEQ, R1, IN, L_PASS);
}

/* Where a family's header keeps what the lookups need (offsets from the IP header). */
struct family {
  int af, hdr_len, ttl, proto, src, dst, addr_len;
};

/* Steps 1 and 2 for one family, after checking that its header is there and its TTL above 1:
 * the reverse lookup (from the source), then the forward one (with the source, destination,
 * protocol and, for IPv4, the TOS), whose result stays in the parameters on the stack. */
static void lookups(struct prog *p, const struct family *f, uint32_t metric) {
  MOV(R1, DATA);
  ADDI(R1, ETH + f->hdr_len);
  JR(BPF_JGT, R1, END, L_PASS);
  LD(BPF_B, R1, DATA, (int16_t)(ETH + f->ttl));
  JI(BPF_JLE, R1, 1, L_PASS);
  fib_begin(p, f->af);
  copy_addr(p, ETH + f->src, f->af == AF_INET ? FIB(ipv4_dst) : FIB(ipv6_dst), f->addr_len);
  reverse_check(p, metric);
  fib_begin(p, f->af);
  if (f->af == AF_INET) {
    LD(BPF_B, R1, DATA, ETH + 1);
    ST(BPF_B, FP, FIB(tos), R1);
  }
  LD(BPF_B, R1, DATA, (int16_t)(ETH + f->proto));
  ST(BPF_B, FP, FIB(l4_protocol), R1);
  copy_addr(p, ETH + f->src, f->af == AF_INET ? FIB(ipv4_src) : FIB(ipv6_src), f->addr_len);
  copy_addr(p, ETH + f->dst, f->af == AF_INET ? FIB(ipv4_dst) : FIB(ipv6_dst), f->addr_len);
  forward_check(p, metric);
}

static void build(struct prog *p, uint32_t metric) {
  memset(p, 0, sizeof *p);
  for (int k = 0; k < N_LABELS; k++) p->at[k] = -1;
  MOV(SKBR, R1);
  LD(BPF_W, IN, SKBR, SKB(ingress_ifindex));
  LD(BPF_W, DATA, SKBR, SKB(data));
  LD(BPF_W, END, SKBR, SKB(data_end));
  MOV(R1, DATA);
  ADDI(R1, ETH);
  JR(BPF_JGT, R1, END, L_PASS);
  LD(BPF_H, R2, DATA, 12);
  JI(BPF_JEQ, R2, htons(ETH_P_IPV6), L_V6);
  JI(BPF_JNE, R2, htons(ETH_P_IP), L_PASS);

  /* IPv4: ttl at 8, protocol 9, checksum 10, source 12, destination 16 */
  static const struct family v4 = {AF_INET, 20, 8, 9, 12, 16, 4};
  lookups(p, &v4, metric);
  /* ttl - 1: the 16-bit word ttl|protocol as it sits in memory, and the checksum updated */
  LD(BPF_H, R3, DATA, ETH + 8);
  MOV(R4, R3);
  SUBI(R4, htons(0x0100));
  ST(BPF_H, DATA, ETH + 8, R4);
  MOV(R1, SKBR);
  MOVI(R2, ETH + 10);
  MOVI(R5, 2);
  CALL(BPF_FUNC_l3_csum_replace);
  JA(L_MACS);

  /* IPv6: next header at 6, hop limit 7, source 8, destination 24 */
  LABEL(L_V6);
  static const struct family v6 = {AF_INET6, 40, 7, 6, 8, 24, 16};
  lookups(p, &v6, metric);
  LD(BPF_B, R1, DATA, ETH + 7);
  SUBI(R1, 1);
  ST(BPF_B, DATA, ETH + 7, R1);

  /* the neighbour's MAC and the host end's, then into the destination container */
  LABEL(L_MACS);
  for (int k = 0; k < 2; k++) {
    MOV(R1, SKBR);
    MOVI(R2, k ? 6 : 0);
    MOV(R3, FP);
    ADDI(R3, k ? FIB(smac) : FIB(dmac));
    MOVI(R4, 6);
    MOVI(R5, 0);
    CALL(BPF_FUNC_skb_store_bytes);
  }
  LD(BPF_W, R1, FP, FIB(ifindex));
  MOVI(R2, 0);
  CALL(BPF_FUNC_redirect_peer);
  EXIT();

  LABEL(L_PASS);
  MOVI(R0, -1); /* TC_ACT_UNSPEC: on to the host's own path */
  EXIT();

  for (int k = 0; k < p->n; k++) {
    int l = p->jump_to[k];
    if (l >= 0) p->insn[k].off = (int16_t)(p->at[l] - k - 1);
  }
}

static char verifier_log[1 << 16];

int fastpath_load(uint32_t metric, int *fd) {
  struct prog p;
  build(&p, metric);
  if (p.overflow) return E2BIG;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_SCHED_CLS;
  a.insns = (uint64_t)(uintptr_t)p.insn;
  a.insn_cnt = (uint32_t)p.n;
  a.license = (uint64_t)(uintptr_t) "Dual MIT/GPL";
  snprintf(a.prog_name, sizeof a.prog_name, "berth_fastpath");
  *fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
  if (*fd >= 0) return 0;
  int e = errno;
  if (e == EACCES || e == EINVAL) { /* the verifier refused: say why, for whoever reads stderr */
    a.log_buf = (uint64_t)(uintptr_t)verifier_log;
    a.log_size = sizeof verifier_log;
    a.log_level = 1;
    if (syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a) < 0) fprintf(stderr, "berth-nsexec: fastpath:\n%s", verifier_log);
  }
  return e;
}
