#pragma once
// Included first by the AVX2 translation units: compiles the rest of the unit for AVX2+FMA+F16C (the
// at::vec AVX2 vectors, with Sleef's special functions from libtorch_cpu), without changing the
// build flags of the other units. register_cpu.cpp picks these kernels at load time only when the
// CPU has AVX2 and FMA. The __AVX__/__AVX2__/__FMA__/__F16C__ macros tell headers (sleef.h) what the
// pragma enabled. It must come before every other include of the unit, so that no inline
// function is compiled for two targets within it.
#include "have_avx2.h"
#ifdef SURROGATE_EXT_HAVE_AVX2
#pragma GCC target("avx2,fma,f16c")
#ifndef __AVX__
#define __AVX__ 1
#endif
#ifndef __AVX2__
#define __AVX2__ 1
#endif
#ifndef __FMA__
#define __FMA__ 1
#endif
#ifndef __F16C__
#define __F16C__ 1
#endif
#define CPU_CAPABILITY AVX2
#define CPU_CAPABILITY_AVX2
#define SURROGATE_EXT_CPU_KERNELS 1
#endif
