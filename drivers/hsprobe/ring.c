/*
 * ring.c: the telemetry ring. Every record gets its sequence number and both timestamps under
 * the ring lock, so seq order is time order and the reader never sees a half-written record.
 */
#include "hsprobe.h"

static LONGLONG HspSystemTime(void)
{
    LARGE_INTEGER now;
    KeQuerySystemTimePrecise(&now);
    return now.QuadPart;
}

void HspRecordWith(HSP_SHARED *s, hsp_record *r, HSP_UNDER_LOCK inside, PVOID arg)
{
    HSP_LOCK_STATE state;
    ULONG64 qpc;
    r->version = HSPROBE_VERSION;
    state = HspLockAcquire(&s->lock);
    r->seq = s->next_seq++;
    r->time = HspSystemTime();
    r->itime = (int64_t)KeQueryInterruptTimePrecise(&qpc);
    if (inside)
        inside(arg);
    s->ring[r->seq % HSP_RING_CAPACITY] = *r;
    HspLockRelease(&s->lock, state);
}

void HspRecord(HSP_SHARED *s, hsp_record *r)
{
    HspRecordWith(s, r, NULL, NULL);
}

void HspMark(HSP_SHARED *s, const char *label, ULONG worker)
{
    hsp_record r;
    size_t i;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_MARK;
    r.worker = worker;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    for (i = 0; i + 1 < sizeof r.u.mark && label[i]; i++)
        r.u.mark[i] = label[i];
    HspRecord(s, &r);
}

/* Copies records from in->from_seq on; what the ring already overwrote counts as dropped. */
void HspReadRing(HSP_SHARED *s, const hsp_read_in *in, hsp_read_out *out)
{
    HSP_LOCK_STATE state;
    ULONG64 seq, oldest;
    state = HspLockAcquire(&s->lock);
    oldest = s->next_seq > HSP_RING_CAPACITY ? s->next_seq - HSP_RING_CAPACITY : 0;
    seq = in->from_seq;
    out->dropped = seq < oldest ? oldest - seq : 0;
    if (seq < oldest)
        seq = oldest;
    out->count = 0;
    while (seq < s->next_seq && out->count < HSP_READ_MAX) {
        out->records[out->count++] = s->ring[seq % HSP_RING_CAPACITY];
        seq++;
    }
    out->next_seq = seq;
    HspLockRelease(&s->lock, state);
}

/* At unload the device disappears with the ring, so the newest records go to a file that
   hsprobectl reads afterwards (the unload record and the last thread exits live only here). */
void HspDumpRing(HSP_SHARED *s)
{
    hsp_file_header head;
    ULONG64 first, count;
    BOOLEAN ok;
    PVOID file = HspOsDumpOpen();
    if (!file)
        return; /* nothing else to do at unload; the live reads already have the rest */
    /* workers are stopped, no writer is left: the ring can be read without the lock */
    count = s->next_seq < HSP_RING_CAPACITY ? s->next_seq : HSP_RING_CAPACITY;
    first = s->next_seq - count;
    RtlZeroMemory(&head, sizeof head);
    RtlCopyMemory(head.magic, HSP_FILE_MAGIC, 4);
    head.layout = HSP_LAYOUT_VERSION;
    head.record_size = HSP_RECORD_SIZE;
    head.count = (uint32_t)count;
    head.source_version = HSPROBE_VERSION;
    head.dropped = first;
    ok = HspOsDumpWrite(file, &head, sizeof head);
    for (; ok && first < s->next_seq; first++)
        ok = HspOsDumpWrite(file, &s->ring[first % HSP_RING_CAPACITY], sizeof(hsp_record));
    HspOsDumpClose(file);
}
