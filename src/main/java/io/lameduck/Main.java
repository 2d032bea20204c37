package io.lameduck; public class Main { public static void main(String[] a){} }
