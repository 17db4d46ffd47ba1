/* SPDX-License-Identifier: MIT */
/* Compiles <pool/version.h> alone, as C and as C++. */
#include <pool/version.h>

static const char version[] = POOL_VERSION_STRING;

int main(void)
{
	return POOL_VERSION_MAJOR < 0 || POOL_VERSION_MINOR < 0 ||
	       POOL_VERSION_PATCH < 0 || version[0] == '\0' ||
	       pool_version() != POOL_VERSION_HEX ||
	       pool_version_string()[0] == '\0';
}
