#pragma once
// Included first by the baseline translation units: portable code, chosen when the CPU lacks
// AVX2/FMA or ATEN_CPU_CAPABILITY=default.
#define CPU_CAPABILITY DEFAULT
#define SURROGATE_EXT_CPU_KERNELS 1
