/*
 * The durability limit: how fast the disk under the data directory makes a
 * write durable, with nothing else around it. Every /sign answer waits for
 * one such commit (shared by the certificates of a batch), so the latency
 * figures of bench/run are read against these.
 *
 *     disklimit DIR [SECONDS]
 *
 * Appends 16 KiB (the WAL frames of a commit of one certificate: four
 * pages of 4 KiB with their 24-byte headers, counted with strace on the
 * committer: the certificate's row, its serial index entry, its audit-log
 * row and that row's index entry) to a new file in DIR and calls
 * fdatasync(2), back to back, for SECONDS (default 5); the file wraps at
 * 4 MiB, as SQLite's WAL restarts. Prints one line:
 *
 *     disklimit commits=12345 seconds=5.00 per_sec=2469.0 p50_ms=0.20 p99_ms=1.50 max_ms=9.00
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DL_WRITE (4 * (4096 + 24))
#define DL_WRAP (4 * 1024 * 1024)
#define DL_MAX 1000000

static double dl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int dl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static char buf[DL_WRITE];
	double secs = argc > 2 ? atof(argv[2]) : 5, t0, *lat;
	char path[4096];
	size_t n = 0;
	off_t off = 0;
	int fd;

	if (argc < 2 || secs <= 0) {
		fprintf(stderr, "usage: disklimit DIR [SECONDS]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/disklimit.%ld", argv[1],
		 (long)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	lat = calloc(DL_MAX, sizeof(*lat));
	if (fd < 0 || lat == NULL) {
		fprintf(stderr, "disklimit: %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = dl_now();
	while (n < DL_MAX && dl_now() - t0 < secs) {
		double a = dl_now();

		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) != 0) {
			fprintf(stderr, "disklimit: %s\n", strerror(errno));
			unlink(path);
			return 1;
		}
		lat[n++] = dl_now() - a;
		off = (off + DL_WRITE) % DL_WRAP;
	}
	secs = dl_now() - t0;
	close(fd);
	unlink(path);
	if (n == 0) {
		fprintf(stderr, "disklimit: no commit in %.2f s\n", secs);
		return 1;
	}
	qsort(lat, n, sizeof(*lat), dl_cmp);
	printf("disklimit commits=%zu seconds=%.2f per_sec=%.1f p50_ms=%.2f "
	       "p99_ms=%.2f max_ms=%.2f\n",
	       n, secs, (double)n / secs, lat[n / 2] * 1e3,
	       lat[n * 99 / 100] * 1e3, lat[n - 1] * 1e3);
	free(lat);
	return 0;
}
