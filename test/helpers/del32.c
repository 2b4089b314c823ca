/* del32: a 32-bit (i386) program without libc: delete_module("compat_mod", O_NONBLOCK|O_TRUNC) via int 0x80, then exit. */
static long sys2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
	return ret;
}
void _start(void)
{
	/* On the stack, so the page is resident: the ENOSYS stub never touches the name, so nothing faults a
	 * read-only data page in for the tracer. */
	volatile char name[] = "compat_mod";
	long r = sys2(129, (long)name, 0xa00); /* i386 delete_module */
	sys2(1, r == -38 ? 0 : 1, 0);           /* i386 exit */
	for (;;) {}
}
