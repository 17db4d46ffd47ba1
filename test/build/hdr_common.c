/* SPDX-License-Identifier: MIT */
/* Compiles <pool/common.h> alone, as C and as C++. */
#include <pool/common.h>

POOL_BEGIN_DECLS
int hdr_common_probe(void);
POOL_END_DECLS

int hdr_common_probe(void)
{
	return 0;
}

int main(void)
{
	return hdr_common_probe();
}
