//! The memory-filling schedule of RFC 9106 (passes, slices, lanes and the
//! choice of reference blocks), generic over the compression function.

use crate::Block;

/// Shape of the working memory for one hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Geometry {
    /// Number of lanes `p`.
    pub lanes: usize,
    /// Blocks per lane `q = m' / p`.
    pub lane_len: usize,
    /// Blocks per segment `q / 4`.
    pub seg_len: usize,
    /// Total blocks `m'`.
    pub blocks: usize,
    /// Number of passes `t`.
    pub passes: u32,
}

/// Argon2 type code of Argon2id.
const TYPE_ID: u64 = 2;

/// Runs every pass over `mem` (whose first two blocks of each lane are
/// already set), with `compress(x, y, dst, xor)` as G for the memory blocks
/// and `address(x, y, dst)` (plain G) for the address blocks.
#[inline(always)]
pub(crate) fn fill_memory<K, A>(mem: &mut [Block], g: &Geometry, mut compress: K, mut address: A)
where
    K: FnMut(&Block, &Block, &mut Block, bool),
    A: FnMut(&Block, &Block, &mut Block),
{
    for pass in 0..g.passes {
        for slice in 0..4 {
            for lane in 0..g.lanes {
                fill_segment(mem, g, pass, slice, lane, &mut compress, &mut address);
            }
        }
    }
}

#[inline(always)]
fn fill_segment<K, A>(
    mem: &mut [Block],
    g: &Geometry,
    pass: u32,
    slice: usize,
    lane: usize,
    compress: &mut K,
    address: &mut A,
) where
    K: FnMut(&Block, &Block, &mut Block, bool),
    A: FnMut(&Block, &Block, &mut Block),
{
    // Argon2id: data-independent addressing in the first two slices of pass 0.
    let independent = pass == 0 && slice < 2;
    let start = if pass == 0 && slice == 0 { 2 } else { 0 };
    let zero = Block::default();
    let mut input = Block::default();
    let mut addresses = Block::default();
    if independent {
        input.0[0] = u64::from(pass);
        input.0[1] = lane as u64;
        input.0[2] = slice as u64;
        input.0[3] = g.blocks as u64;
        input.0[4] = u64::from(g.passes);
        input.0[5] = TYPE_ID;
    }
    let lane_base = lane * g.lane_len;
    let first = lane_base + slice * g.seg_len + start;
    let mut prev = if first == lane_base { lane_base + g.lane_len - 1 } else { first - 1 };
    let with_xor = pass > 0;
    for (idx, cur) in (start..g.seg_len).zip(first..) {
        let rand = if independent {
            if idx % 128 == 0 || idx == start {
                input.0[6] += 1;
                let mut tmp = Block::default();
                address(&zero, &input, &mut tmp);
                address(&zero, &tmp, &mut addresses);
            }
            addresses.0[idx % 128]
        } else {
            mem[prev].0[0]
        };
        let reference = reference_index(g, pass, slice, lane, idx, rand);
        let [x, y, dst] = mem
            .get_disjoint_mut([prev, reference, cur])
            .expect("previous, reference and current blocks are distinct and in range");
        compress(x, y, dst, with_xor);
        prev = cur;
    }
}

/// Index into memory of the reference block for block `idx` of the segment
/// (pass, slice, lane), from the pseudo-random word `rand` (J1 low, J2 high).
#[inline(always)]
fn reference_index(g: &Geometry, pass: u32, slice: usize, lane: usize, idx: usize, rand: u64) -> usize {
    let j1 = rand & 0xffff_ffff;
    let j2 = (rand >> 32) as u32;
    let ref_lane = if pass == 0 && slice == 0 {
        lane
    } else if g.lanes == 1 {
        // Skips a division on the critical path of the common p = 1 case.
        0
    } else {
        (j2 % g.lanes as u32) as usize
    };
    let first_of_segment = usize::from(idx == 0);
    // Size of the set W of blocks this one may reference.
    let area = match (pass == 0, ref_lane == lane) {
        (true, true) => slice * g.seg_len + idx - 1,
        (true, false) => slice * g.seg_len - first_of_segment,
        (false, true) => g.lane_len - g.seg_len + idx - 1,
        (false, false) => g.lane_len - g.seg_len - first_of_segment,
    };
    let x = (j1 * j1) >> 32;
    let y = ((area as u64) * x) >> 32;
    let rel = area - 1 - y as usize;
    let origin = if pass == 0 || slice == 3 { 0 } else { (slice + 1) * g.seg_len };
    let mut pos = origin + rel;
    if pos >= g.lane_len {
        pos -= g.lane_len;
    }
    ref_lane * g.lane_len + pos
}
