/*
 * A plain C switch interpreter for seccomp classic BPF, the baseline the
 * emulator benchmark compares against. It follows the kernel's runtime rules
 * (A = X = 0 at entry, 32-bit wrapping arithmetic, division by X == 0 returns
 * 0, shift counts & 31, ld #len = 64) and reads words of seccomp_data in the
 * machine's byte order, like the kernel. It assumes a verified program.
 */
#include <stdint.h>
#include <string.h>

struct sock_filter {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

uint32_t c_interp_run(const struct sock_filter *prog, const unsigned char *data, uint64_t *steps_out)
{
	uint32_t A = 0, X = 0, M[16];
	uint64_t steps = 0;
	const struct sock_filter *pc = prog;

	for (;;) {
		const struct sock_filter *f = pc++;
		steps++;
		switch (f->code) {
		case 0x20: /* ld [k] */
			memcpy(&A, data + f->k, 4);
			break;
		case 0x00: A = f->k; break;            /* ld #k */
		case 0x01: X = f->k; break;            /* ldx #k */
		case 0x80: A = 64; break;              /* ld #len */
		case 0x81: X = 64; break;              /* ldx #len */
		case 0x60: A = M[f->k & 15]; break;    /* ld M[k] */
		case 0x61: X = M[f->k & 15]; break;    /* ldx M[k] */
		case 0x02: M[f->k & 15] = A; break;    /* st */
		case 0x03: M[f->k & 15] = X; break;    /* stx */
		case 0x07: X = A; break;               /* tax */
		case 0x87: A = X; break;               /* txa */
		case 0x04: A += f->k; break;
		case 0x0c: A += X; break;
		case 0x14: A -= f->k; break;
		case 0x1c: A -= X; break;
		case 0x24: A *= f->k; break;
		case 0x2c: A *= X; break;
		case 0x34: A /= f->k; break;
		case 0x3c:
			if (X == 0) { *steps_out = steps; return 0; }
			A /= X;
			break;
		case 0x54: A &= f->k; break;
		case 0x5c: A &= X; break;
		case 0x44: A |= f->k; break;
		case 0x4c: A |= X; break;
		case 0xa4: A ^= f->k; break;
		case 0xac: A ^= X; break;
		case 0x64: A <<= (f->k & 31); break;
		case 0x6c: A <<= (X & 31); break;
		case 0x74: A >>= (f->k & 31); break;
		case 0x7c: A >>= (X & 31); break;
		case 0x84: A = -A; break;
		case 0x05: pc += f->k; break;          /* ja */
		case 0x15: pc += (A == f->k) ? f->jt : f->jf; break;
		case 0x1d: pc += (A == X) ? f->jt : f->jf; break;
		case 0x25: pc += (A > f->k) ? f->jt : f->jf; break;
		case 0x2d: pc += (A > X) ? f->jt : f->jf; break;
		case 0x35: pc += (A >= f->k) ? f->jt : f->jf; break;
		case 0x3d: pc += (A >= X) ? f->jt : f->jf; break;
		case 0x45: pc += (A & f->k) ? f->jt : f->jf; break;
		case 0x4d: pc += (A & X) ? f->jt : f->jf; break;
		case 0x06: *steps_out = steps; return f->k;  /* ret #k */
		case 0x16: *steps_out = steps; return A;     /* ret a */
		default: *steps_out = steps; return 0;
		}
	}
}
