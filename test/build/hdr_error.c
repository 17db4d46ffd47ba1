/* SPDX-License-Identifier: MIT */
/* Compiles <pool/error.h> alone, as C and as C++, and links (extern "C"). */
#include <pool/error.h>

#define HDR_COUNT_(name, value, msg) +1

int main(void)
{
	pool_errno_t e = POOL_EOVERLOAD;
	int n = 0 POOL_ERRNO_MAP(HDR_COUNT_);

	return n != 9 || e != -EAGAIN || pool_err_name(0) == 0 ||
	       pool_strerror(e) == 0;
}
