// Preloaded into a benchmarked process (node -r ./bench/max-rss.cjs ...): at exit, its peak resident set
// size as the last line on stderr, so a bench can read it without /usr/bin/time.
process.on('exit', () => {
  process.stderr.write(`\n${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS })}\n`);
});
