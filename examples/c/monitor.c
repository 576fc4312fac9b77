/*
 * monitor.c - print the vitals of a live vitalring producer, one line each.
 *
 *   cargo build --release -p vitalring-capi
 *   cc -O2 -Icapi/include examples/c/monitor.c target/release/libvitalring_capi.a \
 *      -lpthread -ldl -lm -o monitor
 *   ./monitor /tmp/vitalring-demo.sock
 *
 * Output, one line per vitals frame (absent optional values print as "-"):
 *   vitals index=<ring index> t_ns=<acquisition time> hr=<bpm> spo2=<%> rr=<rpm>
 *          nibp=<sys>/<dia>/<map> temp=<degC> pr=<bpm>
 * State changes and problems go to stderr, as "state <name>" and "problem <message>" lines.
 * The program ends (status 0) when the producer stops cleanly, and on SIGINT/SIGTERM;
 * it prints the reader's counters to stderr at the end.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vitalring.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    vitalring_options options;
    vitalring_options_init(&options);
    options.socket_path = argv[1];

    vitalring_reader *reader = NULL;
    char why[256];
    int rc = vitalring_connect(&options, &reader, why, sizeof why);
    if (rc != VITALRING_OK) {
        fprintf(stderr, "monitor: cannot connect to %s: %s\n", argv[1], why);
        return 1;
    }

    /* One event struct, owned here and reused: the library never allocates on this path. */
    vitalring_event ev;
    int status = 0;
    while (!stop_requested) {
        /* A finite timeout so that a signal is noticed within 100 ms. */
        rc = vitalring_read(reader, &ev, 100);
        if (rc == VITALRING_NO_EVENT) {
            continue;
        }
        if (rc != VITALRING_OK) {
            fprintf(stderr, "monitor: read failed: %s\n", vitalring_strerror(rc));
            status = 1;
            break;
        }
        if (ev.kind == VITALRING_EVENT_VITALS) {
            const vitalring_vitals *v = &ev.vitals;
            printf("vitals index=%llu t_ns=%llu hr=%u spo2=%u rr=%u",
                   (unsigned long long)ev.index, (unsigned long long)ev.timestamp_ns,
                   (unsigned)v->hr_bpm, (unsigned)v->spo2_pct, (unsigned)v->rr_rpm);
            if (v->has_nibp) {
                printf(" nibp=%u/%u/%u", (unsigned)v->nibp_systolic_mmhg,
                       (unsigned)v->nibp_diastolic_mmhg, (unsigned)v->nibp_mean_mmhg);
            } else {
                printf(" nibp=-");
            }
            if (v->has_temp) {
                printf(" temp=%.1f", (double)v->temp_c);
            } else {
                printf(" temp=-");
            }
            if (v->has_pulse_rate) {
                printf(" pr=%u\n", (unsigned)v->pulse_rate_bpm);
            } else {
                printf(" pr=-\n");
            }
            fflush(stdout);
        } else if (ev.kind == VITALRING_EVENT_CONNECTION) {
            fprintf(stderr, "state %s\n", vitalring_state_name(ev.connection.state));
            if (ev.connection.state == VITALRING_STATE_STOPPED) {
                break;
            }
        } else if (ev.kind == VITALRING_EVENT_PROBLEM) {
            fprintf(stderr, "problem %s\n", ev.problem.message);
        }
        /* Waveform chunks: ev.waveform.samples[0 .. ev.waveform.count) - not printed here. */
    }

    vitalring_stats stats;
    if (vitalring_get_stats(reader, &stats) == VITALRING_OK) {
        fprintf(stderr,
                "stats delivered=%llu dropped=%llu rejected=%llu position=%llu start=%llu\n",
                (unsigned long long)stats.delivered,
                (unsigned long long)(stats.dropped_lapped + stats.dropped_overwritten),
                (unsigned long long)stats.rejected, (unsigned long long)stats.position,
                (unsigned long long)stats.start_index);
    }
    vitalring_close(reader);
    return status;
}
