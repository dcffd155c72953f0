#pragma once
// The AVX2 kernel units are compiled (through #pragma GCC target) on x86-64 with GCC or Clang.
// No includes here: capability_avx2.h needs this before anything else in its unit.
#if defined(__x86_64__) && defined(__GNUC__)
#define SURROGATE_EXT_HAVE_AVX2 1
#endif
