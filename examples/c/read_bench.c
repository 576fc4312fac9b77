/*
 * read_bench: how fast a C program drains a vitalring producer, through either read path of
 * the C API.
 *
 *   read_bench SOCKET CHANNEL event|frames FRAMES
 *
 * event:  vitalring_read() per event into a caller-owned vitalring_event (a copy of every
 *         decoded frame into the struct);
 * frames: vitalring_read_frames() with a callback that sees each frame borrowed (no copy).
 *
 * It reads until the reader has looked at FRAMES ring indices (delivered, dropped or rejected)
 * or the producer stopped, then prints one line:
 *
 *   <mode>: delivered D dropped X rejected R data F sum S in T s: N frames/s
 *
 * The reader starts at the oldest frame the ring holds. F counts the vitals and waveform
 * frames the program saw and S is the sum of every waveform
 * sample and heart rate it saw (the same in both modes for the same frames). Timing starts at
 * the first data frame. Pair it with the producer of `cargo run --release -p vitalring-capi
 * --example read_bench -- SOCKET CHANNEL produce FRAMES` (docs/c-api.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vitalring.h"

struct tally {
    uint64_t data;
    int64_t sum;
    int started;
    struct timespec start;
};

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void start_clock(struct tally *t) {
    if (!t->started) {
        t->started = 1;
        clock_gettime(CLOCK_MONOTONIC, &t->start);
    }
}

/* The callback of vitalring_read_frames: the frame is borrowed until it returns. */
static void on_frame(void *ctx, const vitalring_frame *f) {
    struct tally *t = ctx;
    start_clock(t);
    t->data++;
    if (f->kind == VITALRING_EVENT_WAVEFORM) {
        for (uint32_t i = 0; i < f->count; i++) {
            t->sum += f->samples[i];
        }
    } else {
        t->sum += f->vitals.hr_bpm;
    }
}

static void on_event(struct tally *t, const vitalring_event *ev) {
    if (ev->kind == VITALRING_EVENT_WAVEFORM) {
        start_clock(t);
        t->data++;
        for (uint32_t i = 0; i < ev->waveform.count; i++) {
            t->sum += ev->waveform.samples[i];
        }
    } else if (ev->kind == VITALRING_EVENT_VITALS) {
        start_clock(t);
        t->data++;
        t->sum += ev->vitals.hr_bpm;
    }
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[3], "event") != 0 && strcmp(argv[3], "frames") != 0)) {
        fprintf(stderr, "usage: read_bench SOCKET CHANNEL event|frames FRAMES\n");
        return 2;
    }
    const int frames_mode = strcmp(argv[3], "frames") == 0;
    const uint64_t want = strtoull(argv[4], NULL, 10);

    vitalring_options opts;
    vitalring_options_init(&opts);
    opts.socket_path = argv[1];
    opts.channel = argv[2];
    /* Every frame the ring still holds, so no frame is missed however late the mapping is. */
    opts.start = VITALRING_START_OLDEST;
    char err[256];
    vitalring_reader *reader = NULL;
    int rc = vitalring_connect(&opts, &reader, err, sizeof err);
    if (rc != VITALRING_OK) {
        fprintf(stderr, "read_bench: %s\n", err);
        return 1;
    }

    struct tally t;
    memset(&t, 0, sizeof t);
    vitalring_event ev;
    vitalring_stats st;
    int stopped = 0;
    uint32_t calls = 0;
    for (;;) {
        if (frames_mode) {
            uint32_t n = 0;
            rc = vitalring_read_frames(reader, on_frame, &t, 4096, 1000, &n);
            /* Connection and problem events wait in the queue (pop: no ring read). */
            while (vitalring_pop_event(reader, &ev) == VITALRING_OK) {
                if (ev.kind == VITALRING_EVENT_CONNECTION &&
                    ev.connection.state == VITALRING_STATE_STOPPED) {
                    stopped = 1;
                }
            }
        } else {
            rc = vitalring_read(reader, &ev, 1000);
            if (rc == VITALRING_OK) {
                on_event(&t, &ev);
                if (ev.kind == VITALRING_EVENT_CONNECTION &&
                    ev.connection.state == VITALRING_STATE_STOPPED) {
                    stopped = 1;
                }
            }
        }
        if (rc < 0) {
            fprintf(stderr, "read_bench: %s\n", vitalring_strerror(rc));
            vitalring_close(reader);
            return 1;
        }
        /* Counters every 64 calls in event mode (each call is one frame), every call else. */
        if (frames_mode || ++calls % 64 == 0 || rc != VITALRING_OK || stopped) {
            vitalring_get_stats(reader, &st);
            if (st.position - st.start_index >= want || stopped) {
                break;
            }
        }
    }
    double secs = t.started ? seconds_since(&t.start) : 0.0;
    vitalring_get_stats(reader, &st);
    printf("%s: delivered %llu dropped %llu rejected %llu data %llu sum %lld in %.3f s: %.0f "
           "frames/s\n",
           frames_mode ? "frames" : "event", (unsigned long long)st.delivered,
           (unsigned long long)(st.dropped_lapped + st.dropped_overwritten),
           (unsigned long long)st.rejected, (unsigned long long)t.data, (long long)t.sum, secs,
           secs > 0 ? (double)st.delivered / secs : 0.0);
    vitalring_close(reader);
    return 0;
}
