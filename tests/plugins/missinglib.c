/* TEST LIBRARY for missingdep.so: linked at build time, kept out of every
 * run-time search path so that loading missingdep.so fails. */
int lle_missing_dep_function(void);
int lle_missing_dep_function(void)
{
	return 1;
}
