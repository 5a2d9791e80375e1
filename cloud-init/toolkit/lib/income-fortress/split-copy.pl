#!/usr/bin/env perl
# Usage: perl split-copy.pl OUT...  < one table's data as `pg_restore --data-only --file=-` writes it
#
# Spreads the rows of one COPY over several sessions, so a table that dominates the backup
# loads on every core instead of one: pg_restore -j runs one COPY per table, and with one big
# table the other cores idle through most of the data phase (see fortress-restore,
# restore_in_phases). Each OUT (a FIFO that a psql reads) gets the header (the SET lines and
# the COPY statement), then whole rows, then the end marker; the first OUT also gets what
# follows the data (pg_restore's closing lines). Nothing is reordered within a row and no
# row is dropped or repeated: COPY text format escapes newlines and backslashes inside
# values, so a bare newline always ends a row and a line that is exactly "\." always ends
# the data. Rows go out in blocks of about 1 MiB to whichever session is ready for more, so
# a slower session gets fewer blocks instead of holding the others up.
#
# Input that is not one COPY (no COPY line: --inserts data, say) goes to the first OUT whole.
# Exits non-zero with one line on stderr if the input ends inside the data or a write fails;
# a session that went away ends this with SIGPIPE.
use strict;
use warnings;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use IO::Select;
use POSIX qw(EAGAIN EWOULDBLOCK);

my $BLOCK = 1 << 20;
my $END = "\\.\n";

@ARGV or die "usage: split-copy.pl OUT...\n";
binmode STDIN, ':raw';
my @out = map {
    open(my $fh, '>:raw', $_) or die "split-copy: cannot open $_: $!\n";
    $fh
} @ARGV;

# Blocking write of a whole string (header, end marker, trailer).
sub write_all {
    my ($fh, $data) = @_;
    print {$fh} $data or die "split-copy: write failed: $!\n";
}

my ($header, $copy) = ('', 0);
while (defined(my $line = <STDIN>)) {
    $header .= $line;
    if ($line =~ /^COPY .+ FROM stdin;\n\z/) {
        $copy = 1;
        last;
    }
}
if (!$copy) {
    write_all($out[0], $header);
    close($_) or die "split-copy: close failed: $!\n" for @out;
    exit 0;
}
write_all($_, $header) for @out;
$_->flush for @out;

# The rows: whole lines up to the end marker, read in blocks. $in always starts at a line.
# $seen bytes of it were already searched (for the end marker and for newlines), and the
# last newline among them is at $last_nl (-1: none): each byte is searched once, so a row
# far longer than a block (a big bytea value) costs no more per byte than a short one.
my ($in, $done, $seen, $last_nl) = ('', 0, 0, -1);

# Next block of whole rows, or '' once the end marker is reached (it stays in $in).
sub next_rows {
    while (1) {
        if (substr($in, 0, 3) eq $END) {
            $done = 1;
            return '';
        }
        my $end = index($in, "\n$END", $seen > 3 ? $seen - 3 : 0);
        if ($end >= 0) {
            ($seen, $last_nl) = (0, -1);
            return substr($in, 0, $end + 1, '');
        }
        my $nl = rindex(substr($in, $seen), "\n");
        $last_nl = $seen + $nl if $nl >= 0;
        $seen = length $in;
        if ($seen >= $BLOCK && $last_nl >= 0) {
            my $rows = substr($in, 0, $last_nl + 1, '');
            ($seen, $last_nl) = ($seen - length $rows, -1);
            return $rows;
        }
        my $n = read(STDIN, $in, $BLOCK, length $in);
        defined $n or die "split-copy: read failed: $!\n";
        $n or die "split-copy: the table's data ended without its end marker: the archive is damaged\n";
    }
}

for my $fh (@out) {
    fcntl($fh, F_SETFL, fcntl($fh, F_GETFL, 0) | O_NONBLOCK) or die "split-copy: fcntl: $!\n";
}
my %index = map { fileno($out[$_]) => $_ } 0 .. $#out;
my @pending = ('') x @out;
while (1) {
    for my $i (0 .. $#out) {
        last if $done;
        $pending[$i] = next_rows() if $pending[$i] eq '';
    }
    my @busy = grep { $pending[$_] ne '' } 0 .. $#out;
    last if !@busy;
    for my $fh (IO::Select->new(map { $out[$_] } @busy)->can_write) {
        my $i = $index{fileno $fh};
        my $n = syswrite($fh, $pending[$i]);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK;
            die "split-copy: write failed: $!\n";
        }
        substr($pending[$i], 0, $n, '');
    }
}
for my $fh (@out) {
    fcntl($fh, F_SETFL, fcntl($fh, F_GETFL, 0) & ~O_NONBLOCK) or die "split-copy: fcntl: $!\n";
    write_all($fh, $END);
}
write_all($out[0], substr($in, length $END));
while (1) {
    my $n = read(STDIN, my $rest, $BLOCK);
    defined $n or die "split-copy: read failed: $!\n";
    last if !$n;
    write_all($out[0], $rest);
}
close($_) or die "split-copy: close failed: $!\n" for @out;
