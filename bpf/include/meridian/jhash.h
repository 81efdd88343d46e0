/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bob Jenkins' lookup3 (public domain), as the kernel's jhash_3words. Plain
 * C so that the C++ tests compute the same flow hash as the datapath. */
#ifndef MERIDIAN_JHASH_H
#define MERIDIAN_JHASH_H

#ifdef __cplusplus
#include <cstdint>
#define MER_JH_U32    std::uint32_t
#define MER_JH_INLINE inline
#else
#define MER_JH_U32    __u32
#define MER_JH_INLINE static __always_inline
#endif

#define MER_JHASH_INITVAL 0xdeadbeef
/* Fixed seed: every node must pick the same backend for the same flow. */
#define MER_FLOW_HASH_SEED 0x6d657269 /* "meri" */

MER_JH_INLINE MER_JH_U32 mer_rol32(MER_JH_U32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

MER_JH_INLINE MER_JH_U32 mer_jhash_3words(MER_JH_U32 a, MER_JH_U32 b, MER_JH_U32 c,
					  MER_JH_U32 initval)
{
	a += MER_JHASH_INITVAL + (3 << 2) + initval;
	b += MER_JHASH_INITVAL + (3 << 2) + initval;
	c += MER_JHASH_INITVAL + (3 << 2) + initval;
	/* __jhash_final */
	c ^= b;
	c -= mer_rol32(b, 14);
	a ^= c;
	a -= mer_rol32(c, 11);
	b ^= a;
	b -= mer_rol32(a, 25);
	c ^= b;
	c -= mer_rol32(b, 16);
	a ^= c;
	a -= mer_rol32(c, 4);
	b ^= a;
	b -= mer_rol32(a, 14);
	c ^= b;
	c -= mer_rol32(b, 24);
	return c;
}

/* Flow hash over the 5-tuple as it appears on the wire (network order). */
MER_JH_INLINE MER_JH_U32 mer_flow_hash(MER_JH_U32 saddr_be, MER_JH_U32 daddr_be,
				       MER_JH_U32 sport_be, MER_JH_U32 dport_be, MER_JH_U32 proto)
{
	return mer_jhash_3words(saddr_be, daddr_be, ((sport_be << 16) | dport_be) ^ proto,
				MER_FLOW_HASH_SEED);
}

#endif /* MERIDIAN_JHASH_H */
