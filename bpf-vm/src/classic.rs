//! Socket-filter (classic BPF) semantics, for replaying the kernel's
//! `lib/test_bpf.c` vectors and other non-seccomp programs: the shared
//! interpreter core (`interp`, shared with the seccomp emulator) reading a
//! packet.
//!
//! Differences from seccomp: `ld`/`ldh`/`ldb` read **big-endian** values
//! from a packet (`sk_buff`), through absolute (`[k]`) or indexed (`[x+k]`)
//! offsets; `ldxb 4*([k]&0xf)` exists; `mod` exists; `ld #len` is the packet
//! length; a load outside the packet ends the program with return value 0;
//! negative offsets `SKF_NET_OFF + k` and `SKF_LL_OFF + k` address the
//! network and link-layer headers; `SKF_AD_OFF + n` loads are ancillary
//! (socket buffer metadata), of which those that need kernel state (CPU
//! number, random numbers, netlink attributes, payload offset) are reported
//! as unsupported.

use core::fmt;

use bpf_asm::insn::*;

use crate::interp::{self, Loaded};

/// `SKF_NET_OFF`: start of network-header-relative offsets (-0x100000).
pub const SKF_NET_OFF: i32 = -0x10_0000;
/// `SKF_LL_OFF`: start of link-layer-header-relative offsets (-0x200000).
pub const SKF_LL_OFF: i32 = -0x20_0000;

/// The packet a socket filter runs on: an `sk_buff` with a linear part and
/// optional paged fragment data behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The linear data (`skb->data` up to the tail pointer).
    pub linear: &'a [u8],
    /// Fragment data that follows the linear part (`skb->data_len` bytes).
    pub frags: &'a [u8],
    /// Offset of the network header in `linear` (for `SKF_NET_OFF` loads).
    pub network_offset: usize,
    /// Offset of the link-layer header in `linear`, if it is set (for
    /// `SKF_LL_OFF` loads).
    pub mac_offset: Option<usize>,
}

impl<'a> Packet<'a> {
    /// A linear packet whose link-layer and network headers both start at
    /// offset 0.
    pub const fn new(linear: &'a [u8]) -> Self {
        Packet {
            linear,
            frags: &[],
            network_offset: 0,
            mac_offset: Some(0),
        }
    }

    /// An empty packet (a program that never reads the packet).
    pub const fn empty() -> Self {
        Packet::new(&[])
    }

    /// The same packet with fragment data after the linear part.
    pub const fn with_frags(mut self, frags: &'a [u8]) -> Self {
        self.frags = frags;
        self
    }

    /// The same packet with the network header at `offset`.
    pub const fn with_network_offset(mut self, offset: usize) -> Self {
        self.network_offset = offset;
        self
    }

    /// `skb->len`: linear plus fragment bytes.
    pub const fn len(&self) -> usize {
        self.linear.len() + self.frags.len()
    }

    /// Whether the packet has no bytes.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte at `i` of linear ++ frags.
    fn byte(&self, i: usize) -> u8 {
        if i < self.linear.len() {
            self.linear[i]
        } else {
            self.frags[i - self.linear.len()]
        }
    }

    /// Big-endian load of `size` bytes at `offset` as the kernel's
    /// `bpf_skb_load_helper_*` does; `None` when out of range.
    fn load(&self, offset: i32, size: usize) -> Option<u32> {
        let (start, limit) = if offset >= 0 {
            (offset as usize, self.len())
        } else {
            // bpf_internal_load_pointer_neg_helper: linear data only.
            let base = if offset >= SKF_NET_OFF {
                self.network_offset + (offset - SKF_NET_OFF) as usize
            } else if offset >= SKF_LL_OFF {
                self.mac_offset? + (offset - SKF_LL_OFF) as usize
            } else {
                return None;
            };
            (base, self.linear.len())
        };
        if start.checked_add(size)? > limit {
            return None;
        }
        let mut v = 0u32;
        for i in 0..size {
            v = (v << 8) | self.byte(start + i) as u32;
        }
        Some(v)
    }
}

/// Socket-buffer metadata read by the ancillary loads `SKF_AD_OFF + n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SkbMeta {
    /// `SKF_AD_PROTOCOL`: `ntohs(skb->protocol)`.
    pub protocol: u16,
    /// `SKF_AD_PKTTYPE`: `skb->pkt_type`.
    pub pkttype: u8,
    /// `SKF_AD_IFINDEX`: `skb->dev->ifindex`.
    pub ifindex: u32,
    /// `SKF_AD_MARK`: `skb->mark`.
    pub mark: u32,
    /// `SKF_AD_QUEUE`: `skb->queue_mapping`.
    pub queue: u16,
    /// `SKF_AD_HATYPE`: `skb->dev->type`.
    pub hatype: u16,
    /// `SKF_AD_RXHASH`: `skb->hash`.
    pub rxhash: u32,
    /// `SKF_AD_VLAN_TAG`: the VLAN TCI.
    pub vlan_tci: u16,
    /// `SKF_AD_VLAN_TAG_PRESENT`: whether a VLAN tag is present.
    pub vlan_present: bool,
    /// `SKF_AD_VLAN_TPID`: `ntohs(skb->vlan_proto)`.
    pub vlan_tpid: u16,
}

/// Why a program could not be run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassicError {
    /// The instruction at `index` needs state this interpreter does not
    /// model (`what` names it, e.g. `"SKF_AD_CPU"`).
    Unsupported {
        /// The instruction.
        index: usize,
        /// What it needs.
        what: &'static str,
    },
    /// The instruction at `index` is one the kernel's classic verifier
    /// rejects, so the program cannot be run (`reason` says why).
    Invalid {
        /// The instruction.
        index: usize,
        /// Why it is invalid.
        reason: &'static str,
    },
}

impl fmt::Display for ClassicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ClassicError::Unsupported { index, what } => {
                write!(f, "insn {index}: unsupported ancillary load {what}")
            }
            ClassicError::Invalid { index, reason } => write!(f, "insn {index}: {reason}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClassicError {}

/// The result of running a socket filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassicOutcome {
    /// The 32-bit return value (for a socket filter: bytes to keep).
    pub ret: u32,
    /// Instructions executed, including the final one.
    pub steps: usize,
}

/// Runs a classic program on `packet`, with `meta` for the metadata
/// ancillary loads (`None`: those loads are unsupported too).
///
/// The program should have passed `verify(prog, Mode::Classic)`; anything
/// that verifier rejects and that the run reaches gives
/// [`ClassicError::Invalid`] instead of a panic. Scratch cells start at 0
/// (the kernel leaves them uninitialised, but its verifier guarantees they
/// are written before they are read).
pub fn run(
    prog: &[SockFilter],
    packet: &Packet<'_>,
    meta: Option<&SkbMeta>,
) -> Result<ClassicOutcome, ClassicError> {
    let exit = interp::execute(prog, &mut Skb { packet, meta })?;
    Ok(ClassicOutcome {
        ret: exit.ret,
        steps: exit.steps,
    })
}

/// The input of a socket filter: a packet and its metadata. Refused
/// instructions are errors.
struct Skb<'p, 'a> {
    packet: &'p Packet<'a>,
    meta: Option<&'p SkbMeta>,
}

impl interp::Input for Skb<'_, '_> {
    type Error = ClassicError;

    fn load(&mut self, pc: usize, f: SockFilter, a: u32, x: u32) -> Result<Loaded, ClassicError> {
        let k = f.k;
        let packet = self.packet;
        let from_packet = |v: Option<u32>| v.map_or(Loaded::Exit(0), Loaded::Value);
        match f.code {
            0x80 | 0x81 => return Ok(Loaded::Value(packet.len() as u32)),
            0xb1 => return Ok(from_packet(packet.load(k as i32, 1).map(|v| 4 * (v & 0xf)))),
            _ => {}
        }
        let size = match bpf_size(f.code) {
            BPF_W => 4,
            BPF_H => 2,
            _ => 1,
        };
        if bpf_mode(f.code) == BPF_ABS && k >= SKF_AD_OFF {
            return match ancillary(k - SKF_AD_OFF, a, x, self.meta) {
                Ok(v) => Ok(Loaded::Value(v)),
                Err("") => Err(ClassicError::Invalid {
                    index: pc,
                    reason: "absolute load at an unknown ancillary offset",
                }),
                Err(what) => Err(ClassicError::Unsupported { index: pc, what }),
            };
        }
        let offset = if bpf_mode(f.code) == BPF_IND {
            x.wrapping_add(k) as i32
        } else {
            k as i32
        };
        Ok(from_packet(packet.load(offset, size)))
    }

    fn refused(&mut self, pc: usize, why: &'static str) -> Result<u32, ClassicError> {
        Err(ClassicError::Invalid {
            index: pc,
            reason: why,
        })
    }
}

/// Reads one metadata field for an ancillary load.
type MetaField = fn(&SkbMeta) -> u32;

/// The value of ancillary load `SKF_AD_OFF + n`; `Err("")` for an unknown
/// `n`, `Err(name)` for a known one that is not modelled.
fn ancillary(n: u32, a: u32, x: u32, meta: Option<&SkbMeta>) -> Result<u32, &'static str> {
    let (name, field): (&'static str, Option<MetaField>) = match n {
        SKF_AD_PROTOCOL => ("SKF_AD_PROTOCOL", Some(|m| m.protocol as u32)),
        SKF_AD_PKTTYPE => ("SKF_AD_PKTTYPE", Some(|m| m.pkttype as u32)),
        SKF_AD_IFINDEX => ("SKF_AD_IFINDEX", Some(|m| m.ifindex)),
        SKF_AD_MARK => ("SKF_AD_MARK", Some(|m| m.mark)),
        SKF_AD_QUEUE => ("SKF_AD_QUEUE", Some(|m| m.queue as u32)),
        SKF_AD_HATYPE => ("SKF_AD_HATYPE", Some(|m| m.hatype as u32)),
        SKF_AD_RXHASH => ("SKF_AD_RXHASH", Some(|m| m.rxhash)),
        SKF_AD_VLAN_TAG => ("SKF_AD_VLAN_TAG", Some(|m| m.vlan_tci as u32)),
        SKF_AD_VLAN_TAG_PRESENT => ("SKF_AD_VLAN_TAG_PRESENT", Some(|m| m.vlan_present as u32)),
        SKF_AD_VLAN_TPID => ("SKF_AD_VLAN_TPID", Some(|m| m.vlan_tpid as u32)),
        SKF_AD_ALU_XOR_X => return Ok(a ^ x),
        SKF_AD_NLATTR => ("SKF_AD_NLATTR", None),
        SKF_AD_NLATTR_NEST => ("SKF_AD_NLATTR_NEST", None),
        SKF_AD_CPU => ("SKF_AD_CPU", None),
        SKF_AD_PAY_OFFSET => ("SKF_AD_PAY_OFFSET", None),
        SKF_AD_RANDOM => ("SKF_AD_RANDOM", None),
        _ => return Err(""),
    };
    match (field, meta) {
        (Some(get), Some(m)) => Ok(get(m)),
        _ => Err(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(code: u16, k: u32) -> SockFilter {
        SockFilter::stmt(code, k)
    }

    #[test]
    fn loads_are_big_endian_and_out_of_range_returns_zero() {
        let data = [0x11, 0x22, 0x33, 0x44, 0x55];
        let p = Packet::new(&data);
        let prog = [stmt(0x20, 1), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 0x2233_4455);
        let prog = [stmt(0x20, 2), stmt(0x06, 7)];
        assert_eq!(
            run(&prog, &p, None).unwrap(),
            ClassicOutcome { ret: 0, steps: 1 }
        );
        let prog = [stmt(0x28, 3), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 0x4455);
    }

    #[test]
    fn msh_keeps_a_and_division_by_zero_x_returns_zero() {
        let data = [0x45];
        let p = Packet::new(&data);
        let prog = [stmt(0x00, 9), stmt(0xb1, 0), stmt(0x0c, 0), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 9 + 20);
        let prog = [stmt(0x00, 9), stmt(0x9c, 0), stmt(0x06, 5)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 0);
    }

    #[test]
    fn fragments_and_negative_offsets() {
        let lin = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        let frag = [0xaa, 0xbb];
        let p = Packet::new(&lin).with_frags(&frag).with_network_offset(14);
        let prog = [stmt(0x28, 16), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 0xaabb);
        let prog = [stmt(0x80, 0), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 18);
        // SKF_NET_OFF + 1 -> linear[15]; SKF_LL_OFF + 2 -> linear[2].
        let prog = [stmt(0x30, (SKF_NET_OFF + 1) as u32), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 16);
        let prog = [stmt(0x30, (SKF_LL_OFF + 2) as u32), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 3);
        // Negative offsets never reach the fragments.
        let prog = [stmt(0x30, (SKF_NET_OFF + 2) as u32), stmt(0x06, 1)];
        assert_eq!(run(&prog, &p, None).unwrap().ret, 0);
    }

    #[test]
    fn ancillary_loads() {
        let meta = SkbMeta {
            protocol: 0x0800,
            ..SkbMeta::default()
        };
        let p = Packet::empty();
        let prog = [stmt(0x28, SKF_AD_OFF + SKF_AD_PROTOCOL), stmt(0x16, 0)];
        assert_eq!(run(&prog, &p, Some(&meta)).unwrap().ret, 0x0800);
        assert_eq!(
            run(&prog, &p, None),
            Err(ClassicError::Unsupported {
                index: 0,
                what: "SKF_AD_PROTOCOL"
            })
        );
        let prog = [stmt(0x20, SKF_AD_OFF + SKF_AD_CPU), stmt(0x16, 0)];
        assert!(matches!(
            run(&prog, &p, Some(&meta)),
            Err(ClassicError::Unsupported { .. })
        ));
        let prog = [stmt(0x20, SKF_AD_OFF + SKF_AD_MAX), stmt(0x16, 0)];
        assert!(matches!(
            run(&prog, &p, None),
            Err(ClassicError::Invalid { .. })
        ));
    }

    #[test]
    fn invalid_programs_do_not_panic() {
        let p = Packet::empty();
        for prog in [
            &[stmt(0x05, 5)][..],
            &[stmt(0x00, 1)],
            &[SockFilter::jump(0x15, 0, 3, 3)],
            &[stmt(0x60, 16)],
            &[stmt(0x34, 0)],
            &[stmt(0x64, 32)],
            &[stmt(0x0e, 0)],
            &[stmt(0x8004, 0)],
            &[],
        ] {
            assert!(matches!(
                run(prog, &p, None),
                Err(ClassicError::Invalid { .. })
            ));
        }
    }
}
