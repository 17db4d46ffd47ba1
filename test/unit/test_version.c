/* SPDX-License-Identifier: MIT */
/*
 * test_version.c - the version is written once (meson.build) and every
 * reader agrees: the generated header, pool_version(), pool_version_string()
 * and the project version meson passes to the tests.
 */
#include <stdio.h>

#include "test.h"

TEST(version_string_matches_project)
{
	ASSERT_STR_EQ(pool_version_string(), POOL_TEST_PROJECT_VERSION);
	ASSERT_STR_EQ(POOL_VERSION_STRING, POOL_TEST_PROJECT_VERSION);
}

TEST(version_number_matches_string)
{
	unsigned major, minor, patch;
	char buf[32];

	ASSERT_EQ(sscanf(pool_version_string(), "%u.%u.%u", &major, &minor,
			 &patch),
		  3);
	ASSERT_UEQ(pool_version(), (major << 16) | (minor << 8) | patch);
	ASSERT_UEQ(pool_version(), POOL_VERSION_HEX);
	ASSERT_EQ(POOL_VERSION_MAJOR, (int)major);
	ASSERT_EQ(POOL_VERSION_MINOR, (int)minor);
	ASSERT_EQ(POOL_VERSION_PATCH, (int)patch);
	snprintf(buf, sizeof(buf), "%u.%u.%u", pool_version() >> 16,
		 (pool_version() >> 8) & 0xff, pool_version() & 0xff);
	ASSERT_STR_EQ(buf, pool_version_string());
}
