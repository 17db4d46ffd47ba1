/* placeholder */
#include "test.h"
TEST(sem_placeholder)
{
}
