package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// procStat is a process's CPU time from /proc/PID/stat (proc(5)).
type procStat struct {
	utime, stime uint64 // clock ticks
}

// parseProcStat reads utime and stime, fields 14 and 15 of /proc/PID/stat. The
// second field, comm, is in parentheses and may itself contain spaces and
// parentheses, so the fields are counted from the last ')'.
func parseProcStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, errors.New("proc stat: no ')' after comm")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after comm, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: utime: %w", err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: stime: %w", err)
	}
	return procStat{utime: utime, stime: stime}, nil
}

// parseVmRSS returns the VmRSS line of /proc/PID/status in bytes.
func parseVmRSS(s string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("proc status: VmRSS %q: want \"<n> kB\"", strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc status: VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, errors.New("proc status: no VmRSS line (a kernel thread or a zombie?)")
}

// procSample is one reading of a process's CPU time and resident memory.
type procSample struct {
	cpu time.Duration
	rss uint64 // bytes
}

// readProc samples /proc/<pid>; pid "self" reads this process.
func readProc(pid string, ticksPerSecond int64) (procSample, error) {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return procSample{}, fmt.Errorf("process %s: %w", pid, err)
	}
	st, err := parseProcStat(string(stat))
	if err != nil {
		return procSample{}, fmt.Errorf("process %s: %w", pid, err)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return procSample{}, fmt.Errorf("process %s: %w", pid, err)
	}
	rss, err := parseVmRSS(string(status))
	if err != nil {
		return procSample{}, fmt.Errorf("process %s: %w", pid, err)
	}
	ticks := int64(st.utime + st.stime)
	return procSample{cpu: time.Duration(ticks) * time.Second / time.Duration(ticksPerSecond), rss: rss}, nil
}

// readProcs sums the samples of several processes (a cluster's nodes).
func readProcs(pids []string, ticksPerSecond int64) (procSample, error) {
	var sum procSample
	for _, pid := range pids {
		s, err := readProc(pid, ticksPerSecond)
		if err != nil {
			return sum, err
		}
		sum.cpu += s.cpu
		sum.rss += s.rss
	}
	return sum, nil
}

// udpDrops sums the receive drops of the UDP sockets process pid holds: the
// last column of /proc/net/udp and udp6, datagrams the kernel dropped because
// the socket's receive buffer was full (proc(5)). It tells loss at the server's
// media port apart from loss elsewhere.
func udpDrops(pid string) (uint64, error) {
	inodes, err := socketInodes("/proc/" + pid + "/fd")
	if err != nil {
		return 0, fmt.Errorf("process %s: %w", pid, err)
	}
	var total uint64
	for _, table := range []string{"udp", "udp6"} {
		data, err := os.ReadFile("/proc/" + pid + "/net/" + table)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6
		}
		if err != nil {
			return 0, fmt.Errorf("process %s: %w", pid, err)
		}
		n, err := parseUDPDrops(string(data), inodes)
		if err != nil {
			return 0, fmt.Errorf("process %s: %s: %w", pid, table, err)
		}
		total += n
	}
	return total, nil
}

// socketInodes returns the inodes of the sockets among a process's open files.
func socketInodes(fdDir string) (map[uint64]bool, error) {
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, e := range entries {
		link, err := os.Readlink(fdDir + "/" + e.Name())
		if err != nil {
			continue // closed meanwhile
		}
		if rest, ok := strings.CutPrefix(link, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	return inodes, nil
}

// parseUDPDrops sums the drops column of the rows of a /proc/net/udp table whose
// inode is in inodes.
func parseUDPDrops(table string, inodes map[uint64]bool) (uint64, error) {
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "inode") {
		return 0, errors.New("no header line")
	}
	header := strings.Fields(lines[0])
	// The header names "tx_queue rx_queue" and "tr tm->when" as separate words
	// over single columns; count from the end instead: drops is the last column,
	// inode the fourth from last.
	if header[len(header)-1] != "drops" {
		return 0, fmt.Errorf("last column %q, want drops", header[len(header)-1])
	}
	var total uint64
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		inode, err := strconv.ParseUint(f[len(f)-4], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("inode %q: %w", f[len(f)-4], err)
		}
		if !inodes[inode] {
			continue
		}
		drops, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("drops %q: %w", f[len(f)-1], err)
		}
		total += drops
	}
	return total, nil
}

// loadAverage returns the one-minute load average from /proc/loadavg: how busy
// the machine was besides this run.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// clockTicks asks getconf for CLK_TCK, the unit of /proc/PID/stat times. Linux
// reports 100 on every common architecture, which is the fallback.
func clockTicks(ctx context.Context) (int64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n, true
		}
	}
	return 100, false
}

// metricValue finds the sample of a metric without labels (or the first one with
// labels) in the Prometheus text exposition format: `name value [timestamp]` or
// `name{labels} value [timestamp]`.
func metricValue(text, name string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" {
			continue
		}
		switch rest[0] {
		case ' ', '\t':
		case '{':
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		default:
			continue // a longer name with this prefix
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64) // also parses NaN, +Inf, 1e+06
		if err != nil {
			continue
		}
		return v, true
	}
	return 0, false
}

// serverCounters are the media server's counters read from /metrics.
type serverCounters struct {
	forwarded, dropped, nacks, plis float64
}

// scrapeMetrics fetches and parses the server's /metrics.
// add sums another node's counters into c.
func (c *serverCounters) add(o serverCounters) {
	c.forwarded += o.forwarded
	c.dropped += o.dropped
	c.nacks += o.nacks
	c.plis += o.plis
}

func scrapeMetrics(ctx context.Context, client *http.Client, url string) (serverCounters, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverCounters{}, fmt.Errorf("metrics %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return serverCounters{}, fmt.Errorf("metrics %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverCounters{}, fmt.Errorf("metrics %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return serverCounters{}, fmt.Errorf("metrics %s: %w", url, err)
	}
	text := string(body)
	var c serverCounters
	var ok bool
	if c.forwarded, ok = metricValue(text, "vclinic_forwarded_packets_total"); !ok {
		return c, fmt.Errorf("metrics %s: no vclinic_forwarded_packets_total", url)
	}
	c.dropped, _ = metricValue(text, "vclinic_dropped_packets_total")
	c.nacks, _ = metricValue(text, "vclinic_nacks_received_total")
	c.plis, _ = metricValue(text, "vclinic_plis_sent_total")
	return c, nil
}
