// qnncc RTL library: simple dual-port RAM, one write port and one registered read port.
//
// mem[waddr] <= wdata when we; q <= mem[raddr] when re (read latency 1, as
// block RAM; a read of the address written in the same cycle returns the old
// word). RAM_STYLE becomes the ram_style attribute ("auto" leaves it to the tool).
module qnncc_ram #(
    parameter WIDTH = 8,
    parameter DEPTH = 2,
    parameter AW = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter RAM_STYLE = "auto"
) (
    input wire clk,
    input wire we,
    input wire [AW-1:0] waddr,
    input wire [WIDTH-1:0] wdata,
    input wire re,
    input wire [AW-1:0] raddr,
    output reg [WIDTH-1:0] q
);
  generate
    if (RAM_STYLE == "block") begin : g_block
      (* ram_style = "block" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) q <= mem[raddr];
      end
    end else if (RAM_STYLE == "distributed") begin : g_dist
      (* ram_style = "distributed" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) q <= mem[raddr];
      end
    end else if (RAM_STYLE == "ultra") begin : g_ultra
      (* ram_style = "ultra" *) reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) q <= mem[raddr];
      end
    end else begin : g_auto
      reg [WIDTH-1:0] mem[0:DEPTH-1];
      always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        if (re) q <= mem[raddr];
      end
    end
  endgenerate
endmodule
