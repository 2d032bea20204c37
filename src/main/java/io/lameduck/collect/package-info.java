/**
 * The fleet collector ({@code lameduck collector}): one long-lived pod per cluster that counts every drain report from
 * the Events the agents write at a drain's end ({@link io.lameduck.kube.DrainReportEvent}), keeps the totals by
 * namespace and workload in a ConfigMap so a restart loses and repeats nothing, and exports them as fleet metrics and
 * a list of recent terminations.
 */
package io.lameduck.collect;
