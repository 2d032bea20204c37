/**
 * The fleet collector ({@code lameduck collector}): one long-lived pod per cluster that counts every drain report from
 * the Events the agents write at a drain's end, and how each container restart cycle ended from the cycle's last Event
 * ({@link io.lameduck.kube.DrainReportEvent}), keeps the totals by namespace and workload and the recent terminations
 * in a ConfigMap so a restart loses and repeats nothing, and exports them as fleet metrics and a list of recent
 * terminations.
 */
package io.lameduck.collect;
